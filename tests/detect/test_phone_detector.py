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
        ("+1 415-555-2671 ext. 12", ["+1 415-555-2671"]),
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
        ("12 415 555 2671", ["415 555 2671"]),
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
    ],
)
def test_phone(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_region_is_configurable() -> None:
    text = "ring 020 7946 0958"
    assert found(text) == []
    assert found(text, PhoneDetector(region="GB")) == ["020 7946 0958"]


def test_valid_scores_above_merely_possible() -> None:
    (valid,) = DETECTOR.find("(415) 555-2671")
    (possible,) = DETECTOR.find("911-555-0199")
    assert 0 < possible.score < valid.score <= 1
