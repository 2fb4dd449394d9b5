import pytest

from veil.detect.jwt import JwtDetector, jwt_header

DETECTOR = JwtDetector()

# jwt.io's example token (HS256)
SIGNED = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
UNSECURED = "eyJhbGciOiJub25lIn0.eyJzdWIiOiI0MiJ9."  # {"alg":"none"}: empty signature
NO_ALG = "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJlLWJ5dGVz"  # header {"typ":"JWT"}


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {SIGNED}", [SIGNED]),
        (f'{{"id_token": "{SIGNED}"}}', [SIGNED]),
        (f"{UNSECURED} trailing", [UNSECURED]),
        # negatives beside the positives
        (NO_ALG, []),
        ("eyJub3QganNvbg.eyJzdWIiOiI0MiJ9.sig", []),  # header is not JSON
        ("eyJhbGciOiJIUzI1NiJ9.only-two-segments", []),
        (f"x{SIGNED}", []),  # glued to a word
        (f"{SIGNED}.more", []),  # four segments
    ],
)
def test_jwt(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_header_decodes_without_padding() -> None:
    assert jwt_header("eyJhbGciOiJIUzI1NiJ9") == {"alg": "HS256"}
    assert jwt_header("eyJbXQ") is None  # `[]` is JSON but not an object
