import pytest

from veil.detect.email import EmailDetector

DETECTOR = EmailDetector()


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to john.doe@example.com today", ["john.doe@example.com"]),
        ("jane@acme.test and bob@corp.example", ["jane@acme.test", "bob@corp.example"]),
        ("first.last+tag@sub.example.co.uk.", ["first.last+tag@sub.example.co.uk"]),
        ("<mailto:ops@example.org>", ["ops@example.org"]),
        ('{"email":"john@example.com"}', ["john@example.com"]),
        ("|a_b-c@example.io|", ["a_b-c@example.io"]),
        ("josé.müller@exämple.de", ["josé.müller@exämple.de"]),
        ("用户@例子.广告", ["用户@例子.广告"]),
        ("me@xn--bcher-kva.example", ["me@xn--bcher-kva.example"]),
        ("@john@example.com", ["john@example.com"]),
        ("https://john@example.com/path", ["john@example.com"]),
        # negatives beside the positives
        ("foo@bar is not an address", []),
        ("user@localhost", []),
        ("a@b.c has a one-letter top-level label", []),
        ("@mention in a chat", []),
        ("john%40example.com is encoded; the Analyzer decodes it", []),
        (r"JSON escape \njohn@example.com is left to the decoded view", []),
        ("postgres://admin:s3cr3t@db.example.com:5432/app", []),
        ("user@example.com1", []),
        ("x" * 65 + "@example.com", []),
    ],
)
def test_email(text: str, expected: list[str]) -> None:
    assert found(text) == expected


def test_span_fields() -> None:
    (span,) = DETECTOR.find("mail: ann@example.net")
    assert (span.entity_type, span.start, span.end, span.detector) == ("EMAIL_ADDRESS", 6, 21, "email")
    assert 0 < span.score <= 1
