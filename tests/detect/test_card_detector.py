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
