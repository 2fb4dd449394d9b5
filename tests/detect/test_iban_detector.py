import pytest

from veil.detect.iban import IBAN_LENGTHS, IbanDetector, mod97_valid

DETECTOR = IbanDetector()


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pay GB82WEST12345698765432 today", ["GB82WEST12345698765432"]),
        ("GB82 WEST 1234 5698 7654 32", ["GB82 WEST 1234 5698 7654 32"]),
        ("DE89370400440532013000", ["DE89370400440532013000"]),
        ("DE89 3704 0044 0532 0130 00.", ["DE89 3704 0044 0532 0130 00"]),
        ("lower case gb82west12345698765432", ["gb82west12345698765432"]),
        ("FR1420041010050500013M02606", ["FR1420041010050500013M02606"]),
        ("NL91ABNA0417164300", ["NL91ABNA0417164300"]),
        ("NO9386011117947", ["NO9386011117947"]),
        ("(IBAN:GB82WEST12345698765432)", ["GB82WEST12345698765432"]),
        ("GB82WEST12345698765432 is mine", ["GB82WEST12345698765432"]),
        # negatives beside the positives
        ("GB83WEST12345698765432", []),  # wrong check digits
        ("GB82WEST12345698765433", []),  # wrong account digit
        ("DE8937040044053201300", []),  # one character short
        ("DE893704004405320130001", []),  # one character long
        ("XX82WEST12345698765432", []),  # not an IBAN country
        ("GB82 WEST1234 5698 7654 32", []),  # irregular grouping
        ("ABGB82WEST12345698765432", []),  # glued to a word
    ],
)
def test_iban(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_registry_table_is_complete() -> None:
    assert len(IBAN_LENGTHS) == 89
    assert all(15 <= length <= 33 for length in IBAN_LENGTHS.values())


def test_mod97() -> None:
    assert mod97_valid("GB82WEST12345698765432")
    assert not mod97_valid("GB82WEST12345698765423")
