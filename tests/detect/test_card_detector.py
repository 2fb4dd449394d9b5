import pytest

from veil.detect.card import CardDetector, known_issuer, luhn_valid

DETECTOR = CardDetector()


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("visa 4111111111111111", ["4111111111111111"]),
        ("4242 4242 4242 4242 exp 12/34", ["4242 4242 4242 4242"]),
        ("4111-1111-1111-1111", ["4111-1111-1111-1111"]),
        ("mc 5555555555554444", ["5555555555554444"]),
        ("mc 2-series 2223003122003222", ["2223003122003222"]),
        ("amex 378282246310005", ["378282246310005"]),
        ("amex 3782 822463 10005", ["3782 822463 10005"]),
        ("discover 6011111111111117", ["6011111111111117"]),
        ("jcb 3530111333300000", ["3530111333300000"]),
        ("diners 30569309025904", ["30569309025904"]),
        ("unionpay 6200000000000005", ["6200000000000005"]),
        ("maestro 6759649826438453", ["6759649826438453"]),
        ("visa-13 4222222222222", ["4222222222222"]),
        ("4222 2222 2222 2", ["4222 2222 2222 2"]),
        # 12-digit Maestro: grouped as printed, or after a card word
        ("5018 0307 5628", ["5018 0307 5628"]),
        ("credit card 501803075628", ["501803075628"]),
        ("cc 675956263684", ["675956263684"]),
        # JCB's 15-digit 1800/2131 ranges, 14-digit Diners 38
        ("180092617964050", ["180092617964050"]),
        ("213128569146303", ["213128569146303"]),
        ("38622827728814", ["38622827728814"]),
        # after a card word, any Luhn-valid number: issuers missing from the table, `35`
        # outside JCB's 3528-3589
        ("Please block card no 3522170430305486", ["3522170430305486"]),
        ("my card 1234567812345670", ["1234567812345670"]),
        ("My credit card 060417590258 has been lost", ["060417590258"]),
        ("4242424242424242 12 34", ["4242424242424242"]),
        ("ref 12 4111 1111 1111 1111", ["4111 1111 1111 1111"]),
        # negatives beside the positives
        ("4111111111111112", []),  # Luhn fails
        ("1234567812345678", []),  # Luhn fails
        ("1234567812345670", []),  # Luhn passes, no issuer starts with 1
        ("9999999999999995", []),  # Luhn passes, no issuer starts with 9
        ("4111 1111-1111 1111", []),  # mixed separators
        ("4111 11 11 1111 1111", []),  # not a printed card layout
        ("0.4111111111111111", []),  # a decimal
        ("41111111111111111111", []),  # 20 digits
        ("4222222222222", []),  # 13 digits, Visa, but neither grouped nor after a card word
        ("501803075628", []),  # 12 digits, Maestro, likewise
        ("3522170430305486", []),  # `35` outside JCB's range, no card word
        ("order 1234567812345670", []),  # Luhn passes, no issuer, and not a card word
        ("card ok, order 1234567812345670", []),  # the nearer word wins
        ("card 4111111111111111 and 1234567812345670", ["4111111111111111"]),  # not across digits
        ("IMEI 356938035643809", []),  # Luhn-valid 15 digits in JCB's range: JCB is 16-19
        ("sent 2024-03-15 12:30:45, id 20240315123045", []),
        ("378282246310005 is amex but 37828224631000 is short", ["378282246310005"]),
    ],
)
def test_card(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("4111111111111111", True), ("79927398713", True), ("79927398710", False), ("0", True)],
)
def test_luhn(digits: str, valid: bool) -> None:
    assert luhn_valid(digits) is valid


@pytest.mark.parametrize(
    ("digits", "known"),
    [
        ("4111111111111111", True),
        ("378282246310005", True),
        ("3782822463100050", False),
        ("5655555555554444", False),
    ],
)
def test_known_issuer_checks_prefix_and_length(digits: str, known: bool) -> None:
    assert known_issuer(digits) is known


# Ordinary text with long numbers: none of it is a card number.
ORDINARY = [
    "Order #112-4567890-1234567 shipped on 2024-03-15; tracking 1Z999AA10123456784.",
    "Invoice 2024000123456 and reference 9400 1000 0000 0000 0000 00.",
    "ISBN 9780306406157; EAN 4006381333931; timestamp 20240315123045.",
    "Call +44 20 7946 0958 or 0494 41 18 24; IBAN DE89 3704 0044 0532 0130 00.",
    "Revenue 1 234 567 890 EUR; population 1 402 112 000; 123 456 789 012 stars.",
    "Account 12345678901234, sort code 12-34-56, version 10.15.7.1234.",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_text_has_no_card_number(text: str) -> None:
    assert found(text) == []
