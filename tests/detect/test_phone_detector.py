import pytest

from veil.detect.phone import PhoneDetector

DETECTOR = PhoneDetector()


def found(text: str, detector: PhoneDetector = DETECTOR) -> list[str]:
    return [text[span.start : span.end] for span in detector.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("London +44 20 7946 0958 office", ["+44 20 7946 0958"]),
        ("Berlin +49 30 901820", ["+49 30 901820"]),
        ("Paris +33 1 42 68 53 00.", ["+33 1 42 68 53 00"]),
        ("SF (415) 555-2671", ["(415) 555-2671"]),
        ("+1 (415) 555-2671", ["+1 (415) 555-2671"]),
        ("(+44) 20 7946 0958", ["(+44) 20 7946 0958"]),
        ("+1 415-555-2671 ext. 12", ["+1 415-555-2671 ext. 12"]),
        ("275.233.4383x6404", ["275.233.4383x6404"]),  # the extension is part of the value
        ("Mobile +91 98765 43210", ["+91 98765 43210"]),
        ("call 234-555-0123 now", ["234-555-0123"]),
        ("415.555.2671", ["415.555.2671"]),
        ("+1-415-555-2671", ["+1-415-555-2671"]),
        ("tel:+14155552671", ["+14155552671"]),
        ("1-800-555-0199", ["1-800-555-0199"]),
        ("+86 138 0013 8000", ["+86 138 0013 8000"]),
        # fictional 555-01XX numbers: only "possible", accepted for their NANP formatting
        ("911-555-0199", ["911-555-0199"]),
        ("(999) 555-0142", ["(999) 555-0142"]),
        ("415-555-2671 415-555-2672", ["415-555-2671", "415-555-2672"]),
        # a number run together with other digits is cut out of the window
        ("+44 20 7946 0958 4111 1111 1111 1111", ["+44 20 7946 0958"]),
        (" +44 20 7946 0958  4111-1111-1111-1111 ", ["+44 20 7946 0958"]),
        ("415 555 2671 2", ["415 555 2671"]),
        # a spaced dash or slash, a sentence's full stop or a loose parenthesis ends a number
        ("+49 30 901820 / 192.0.2.7", ["+49 30 901820"]),
        ("+49 30 901820 . 192.0.2.7", ["+49 30 901820"]),
        ("+49 30 901820 ) 5555 5555 5555 4444", ["+49 30 901820"]),
        ("(415) 555-2671 / 0494 41 18 24", ["(415) 555-2671", "0494 41 18 24"]),
        ("+44 20 7946 0958 - 0494 41 18 24", ["+44 20 7946 0958", "0494 41 18 24"]),
        ("NL91ABNA0417164300 / 06-82237745", ["06-82237745"]),
        ("Tel 030 / 901820", ["030 / 901820"]),
        ("12 415 555 2671", ["415 555 2671"]),
        # "+CC (0)" with a one-digit area code is not a list of lone digits
        ("+46 (0)8 515 691 54", ["+46 (0)8 515 691 54"]),
        ("+41 (0)27 240 04 99", ["+41 (0)27 240 04 99"]),
        # national formats without a country code: a trunk 0 or an area code in parentheses
        ("call me on 06-82237745?", ["06-82237745"]),
        ("Desk: 07700 316 475", ["07700 316 475"]),
        ("0494 41 18 24", ["0494 41 18 24"]),
        ("reach me at 0380 7558505 or 0380 7558506", ["0380 7558505", "0380 7558506"]),
        ("You can call 05.06.52.16.25", ["05.06.52.16.25"]),
        ("06 12 34 56 78", ["06 12 34 56 78"]),
        ("see (72) 583-350", ["(72) 583-350"]),
        ("Fax: (07700)553419", ["(07700)553419"]),
        # ...and, right after a phone word or before a phone label, any phone layout
        ("Mobile: 730 064 218", ["730 064 218"]),
        ("Phone:\n439 4166", ["439 4166"]),
        ("call me at 87 47 98.", ["87 47 98"]),
        ("Tel: 9691 2587", ["9691 2587"]),
        ("T: 469 2020", ["469 2020"]),
        ("They're not answering at 561 499 051", ["561 499 051"]),
        ("stop receiving messages to 72 805 20 53", ["72 805 20 53"]),
        ("20-33-70-48 office", ["20-33-70-48"]),
        ("26 841054-Office", ["26 841054"]),
        ("Fax: 00724078754", ["00724078754"]),
        ("8240084271 mobile", ["8240084271"]),
        # a bare run needs validity and a phone word shortly before it
        ("call me at 4155552671", ["4155552671"]),
        ("order 4155552671 shipped", []),
        ("Order 1234567890", []),
        # negatives beside the positives
        ("on 2015-03-04 at noon", []),
        ("on 03/04/2015", []),
        ("2015-03-04 12:30", []),
        ("SSN 123-45-6789", []),
        ("card 4111 1111 1111 1111", []),
        ("IBAN DE89 3704 0044 0532 0130 00", []),
        ("server 192.168.100.200", []),
        ("pi is 3.141592653", []),
        ("555-0123", []),
        ("v2.415.555.2671", []),
        ("see /4155552671", []),
        ("a 1 234 567 figure", []),
        ("1 2 3 4 5 6 7 8 9 10 11 12", []),  # lone digits are a list
        ("4111 4111 4111 4111 4111 4111", []),
        # without a cue, thousands, pairs, 3-4, 4-4 and mixed groups are amounts and lists
        ("it sold 561 499 051 copies", []),
        ("ranked 87 47 98", []),
        ("room 469 2020", []),
        ("ages 12 34 56 78 90", []),
        ("between 1500 2000 people", []),
        ("counts 120 45 300 12 per day", []),
        ("tiers 250 500 750 1000", []),
        ("valid in Washington DC but written 2024 123 456", []),
        # a phone word that is not right before the digits is not a cue
        ("Mobile sales rose 12 345 678 units", []),
        ("Tel Aviv 2023 population 467 875", []),
        ("Call volume: 1 234 567 in 2023", []),
        ("I'd like to call a taxi to 9335 2733 Jasper Ave", []),
        ("your sms code is 482 913", []),
        # nor when a nearer word says what the digits are
        ("Phone order 123 456 789 shipped", []),
        ("Suite 595 9472 90 Petworth Rd", []),
        ("Booking reference 12-345678", []),
    ],
)
def test_phone(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_region_is_configurable() -> None:
    # A bare run after a weak word ("number") is accepted only when valid in the region.
    text = "my number 02079460958"
    assert found(text) == []
    assert found(text, PhoneDetector(region="GB")) == ["02079460958"]


def test_valid_scores_above_merely_possible() -> None:
    (valid,) = DETECTOR.find("(415) 555-2671")
    (possible,) = DETECTOR.find("911-555-0199")
    assert 0 < possible.score < valid.score <= 1


# Ordinary text with numbers: none of it is a phone number.
ORDINARY = [
    "The meeting is on 2024-01-02 at 10:30, moved to 02.01.2024 and then 03/01/2024.",
    "Born 12 05 1987; released 2024 01 15; timeline 2019-2023 and 1990 2000.",
    "From 09.30-10.45 then 14:00-15:30, or 2 pm to 5 pm.",
    "Total: $1,234.56 (EUR 1.234,56); revenue 12 345 678 € and a budget of 1.234.567 euros.",
    "It costs € 1 299; prices 19.99, 24.50 and 120.00; salary 45000-60000, bonus 1200-15000.",
    "Population 67 390 000 in 2020; we shipped 100 200 300 units.",
    "Scores: 87 92 78 95; the final was 3-2, then 2-1; numbers 1 2 3 4 5 6 7 8 9 10.",
    "Lottery: 03 12 25 31 44 48; values 12 15 18 22 25 30 41 50; temperatures 21 19 23 25 22.",
    "Upgrade to version 10.15.7 or 2.14.13-beta; Python 3.12.1, build 10.15.7.1234.",
    "Order 123-456-789 shipped; invoice no. 2024-00123; order #112-4567890-1234567.",
    "PO 4500-12345 confirmed; SKU 1234-56789; ISBN 978-3-16-148410-0 and 978-316-1484100.",
    "Ticket 12345678 opened; case 87654321 closed; account 12 345 678 overdrawn.",
    "Room 1204, floor 12, building 3; ship to 94105-1234 or 10001; 75008 Paris, 1015 CJ Amsterdam.",
    "Growth 12.5% vs 8 %; location 48.8566, 2.3522 or 51.5074 -0.1278; at 40.7128 74.0060 W.",
    "Weight 12 345 kg, distance 1 234 567 km; resolution 1920 1080 and 3840x2160.",
    "Server 192.168.100.200 port 8080; mask 255.255.255.0; MAC 00 1A 2B 3C 4D 5E.",
    "Press 1 2 3 4 5 6 on the keypad; steps 1-2-3-4-5; pages 120-135 and 1200-1350.",
    "Call of Duty sold 25 000 000 copies; call me at 5 pm on 12 June 2024; I called 3 times.",
    "The phone costs 1 299 € and has 256 GB; our whatsapp group has 1 024 members.",
    "My registered office is at 12 High St; the messages took 12 345 ms.",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_has_no_phone_number(text: str) -> None:
    assert found(text) == []
