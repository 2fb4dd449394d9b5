import pytest

from veil.detect.ssn import SsnDetector, ssn_plausible

DETECTOR = SsnDetector()


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ssn 536-22-8437 on file", ["536-22-8437"]),
        ("536 22 8437", ["536 22 8437"]),
        # ITIN / taxpayer-id space is accepted on purpose (see the module docstring)
        ("912-34-5678", ["912-34-5678"]),
        ("999-49-0001", ["999-49-0001"]),
        ("SSN: 536228437", ["536228437"]),
        ("social security number 536228437", ["536228437"]),
        # negatives beside the positives
        ("order 536228437", []),  # bare run without a cue
        ("000-12-3456", []),
        ("666-12-3456", []),
        ("536-00-8437", []),
        ("536-22-0000", []),
        ("111-11-1111", []),
        ("078-05-1120", []),
        ("219-09-9999", []),
        ("123-45-6789", []),
        ("987-65-4321", []),
        ("536-22 8437", []),  # mixed separators
        ("1536-22-8437", []),  # part of a longer number
        ("536-22-8437-1", []),
        ("ssn 5362284370", []),  # ten digits
    ],
)
def test_ssn(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_plausibility_rules() -> None:
    assert ssn_plausible("900", "01", "0001")
    assert not ssn_plausible("666", "01", "0001")
