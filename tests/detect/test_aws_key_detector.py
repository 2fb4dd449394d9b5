import pytest

from veil.detect.aws_key import AwsKeyDetector

DETECTOR = AwsKeyDetector()

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def found(text: str) -> list[tuple[str, str]]:
    return [(span.entity_type, text[span.start : span.end]) for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"id {KEY_ID}", [("AWS_ACCESS_KEY_ID", KEY_ID)]),
        ("ASIAY34FZKBOKMUTVV7A temporary", [("AWS_ACCESS_KEY_ID", "ASIAY34FZKBOKMUTVV7A")]),
        (f"aws_secret_access_key = {SECRET}", [("AWS_SECRET_ACCESS_KEY", SECRET)]),
        (f'"SecretAccessKey": "{SECRET}"', [("AWS_SECRET_ACCESS_KEY", SECRET)]),
        (f"the secret key is {SECRET}", [("AWS_SECRET_ACCESS_KEY", SECRET)]),
        (
            f"{KEY_ID} {SECRET}",
            [("AWS_ACCESS_KEY_ID", KEY_ID), ("AWS_SECRET_ACCESS_KEY", SECRET)],
        ),
        # negatives beside the positives
        (f"checksum {SECRET}", []),  # no cue
        (f"secret {SECRET}X", []),  # 41 characters
        ("secret " + "a" * 40, []),  # not random-looking
        (f"secret {'x' * 100} {SECRET}", []),  # too far from the cue
        ("AKIAIOSFODNN7EXAMPL", []),  # 19 characters
        ("XAKIAIOSFODNN7EXAMPLE", []),  # glued
        ("akiaiosfodnn7example", []),  # key ids are upper case
    ],
)
def test_aws_key(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_secret_near_two_cues_is_reported_once() -> None:
    text = f"aws secret: {KEY_ID} secret {SECRET}"
    assert [span.entity_type for span in DETECTOR.find(text)].count("AWS_SECRET_ACCESS_KEY") == 1
