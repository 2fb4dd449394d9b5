import pytest

from veil.detect.private_key import PrivateKeyDetector

DETECTOR = PrivateKeyDetector()

BODY = (
    "MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n"
    "KUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ=="
)


def block(kind: str) -> str:
    return f"-----BEGIN {kind}-----\n{BODY}\n-----END {kind}-----"


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    "kind",
    [
        "PRIVATE KEY",
        "RSA PRIVATE KEY",
        "EC PRIVATE KEY",
        "DSA PRIVATE KEY",
        "OPENSSH PRIVATE KEY",
        "ENCRYPTED PRIVATE KEY",
        "PGP PRIVATE KEY BLOCK",
    ],
)
def test_whole_block_is_one_span(kind: str) -> None:
    text = f"here:\n{block(kind)}\nthanks"
    assert found(text) == [block(kind)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a paste cut short runs to the end of the text
        (f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}", [f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}"]),
        # an END line of another kind does not close the block
        (
            f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n-----END EC PRIVATE KEY----- x",
            [f"-----BEGIN RSA PRIVATE KEY-----\n{BODY}\n-----END EC PRIVATE KEY----- x"],
        ),
        (
            f"{block('RSA PRIVATE KEY')}\n{block('EC PRIVATE KEY')}",
            [block("RSA PRIVATE KEY"), block("EC PRIVATE KEY")],
        ),
        # negatives beside the positives
        (f"-----BEGIN PUBLIC KEY-----\n{BODY}\n-----END PUBLIC KEY-----", []),
        (f"-----BEGIN CERTIFICATE-----\n{BODY}\n-----END CERTIFICATE-----", []),
        ("we never paste a private key here", []),
    ],
)
def test_private_key(text: str, expected: list[str]) -> None:
    assert found(text) == expected
