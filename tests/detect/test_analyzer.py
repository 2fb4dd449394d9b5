import itertools
import re
from collections.abc import Iterable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.detect.analyzer import Analyzer
from veil.detect.base import Span
from veil.detect.iban import IbanDetector
from veil.detect.registry import default_detectors

ANALYZER = Analyzer(default_detectors())
KEY_BLOCK = "-----BEGIN PRIVATE KEY-----\nann@example.com 4111111111111111\n-----END PRIVATE KEY-----"


class FixedDetector:
    """Returns the spans it was given, and counts how often it ran. It has no trigger."""

    def __init__(self, name: str, *spans: tuple[int, int, float]) -> None:
        self.name = name
        self.spans = spans
        self.calls = 0

    def find(self, text: str) -> Iterable[Span]:
        self.calls += 1
        return [Span(self.name.upper(), start, end, score, self.name) for start, end, score in self.spans]


def kept(detectors: list[FixedDetector], text: str = "x" * 40) -> list[tuple[str, int, int]]:
    return [(span.detector, span.start, span.end) for span in Analyzer(detectors).analyze(text)]


class AtSignDetector(FixedDetector):
    trigger = re.compile("@")


@pytest.mark.parametrize(
    ("detectors", "expected"),
    [
        # the longer span wins, wherever it comes in the sequence
        ([FixedDetector("a", (5, 10, 0.9)), FixedDetector("b", (0, 20, 0.1))], [("b", 0, 20)]),
        ([FixedDetector("a", (0, 20, 0.1)), FixedDetector("b", (5, 10, 0.9))], [("a", 0, 20)]),
        # equal length: the higher score wins
        ([FixedDetector("a", (0, 10, 0.5)), FixedDetector("b", (2, 12, 0.9))], [("b", 2, 12)]),
        # equal length and score: the detector listed first wins
        ([FixedDetector("a", (2, 12, 0.5)), FixedDetector("b", (0, 10, 0.5))], [("a", 2, 12)]),
        # the same span twice is reported once
        ([FixedDetector("a", (0, 10, 0.5)), FixedDetector("b", (0, 10, 0.5))], [("a", 0, 10)]),
        # touching spans do not overlap; results come back sorted by start
        ([FixedDetector("a", (10, 20, 0.5), (0, 10, 0.5))], [("a", 0, 10), ("a", 10, 20)]),
        # a chain: the long middle span removes both neighbours it overlaps
        (
            [FixedDetector("a", (0, 6, 0.9), (4, 16, 0.5), (14, 20, 0.9), (20, 22, 0.1))],
            [("a", 4, 16), ("a", 20, 22)],
        ),
        # empty, inverted and out-of-range spans from a faulty detector are dropped
        ([FixedDetector("a", (3, 3, 1.0), (5, 4, 1.0), (-1, 2, 1.0), (38, 41, 1.0))], []),
    ],
)
def test_overlap_resolution(detectors: list[FixedDetector], expected: list[tuple[str, int, int]]) -> None:
    assert kept(detectors) == expected


def test_iban_beats_a_phone_reading_of_its_digits() -> None:
    text = "IBAN DE89 3704 0044 0532 0130 00"
    phone_inside = FixedDetector("phone", (10, 24, 0.99))
    spans = Analyzer([phone_inside, IbanDetector()]).analyze(text)
    assert [(span.entity_type, text[span.start : span.end]) for span in spans] == [
        ("IBAN_CODE", "DE89 3704 0044 0532 0130 00")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # IPv4 tail inside an IPv6 address: the longer IPv6 reading is kept
        ("host ::ffff:192.0.2.1", [("IP_ADDRESS", "::ffff:192.0.2.1")]),
        # a password value that is an address: same span, the email's higher score wins
        ("password=ann@example.com", [("EMAIL_ADDRESS", "ann@example.com")]),
        # a vendor key under a secret-looking name: API_KEY beats PASSWORD
        (
            "api_key=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
            [("API_KEY", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z")],
        ),
        (
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            [("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")],
        ),
        # the URL password and the host: the password, not an "email" over both
        ("mysql://app:pa55word@db.example.com/x", [("PASSWORD", "pa55word")]),
        # whatever looks like a value inside a private key block stays inside it
        (KEY_BLOCK, [("PRIVATE_KEY", KEY_BLOCK)]),
    ],
)
def test_real_detectors_resolve_overlaps(text: str, expected: list[tuple[str, str]]) -> None:
    assert [(span.entity_type, text[span.start : span.end]) for span in ANALYZER.analyze(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail john%40example.com now", [("EMAIL_ADDRESS", 5, 23)]),
        ("phone=%2B44%2020%207946%200958", [("PHONE_NUMBER", 6, 30)]),
        ("card=4111%201111%201111%201111&x=1", [("CREDIT_CARD", 5, 30)]),
        ("to=jos%C3%A9%40example.com", [("EMAIL_ADDRESS", 3, 26)]),
        (r'{"to": "john\u0040example.com"}', [("EMAIL_ADDRESS", 8, 29)]),
        (r'"note": "line one\njohn@example.com"', [("EMAIL_ADDRESS", 19, 35)]),
        (r'{"a": "{\"password\": \"hunter2\"}"}', [("PASSWORD", 24, 31)]),
        (r"{\"a\": \"{\\\"password\\\": \\\"hunter2\\\"}\"}", [("PASSWORD", 33, 40)]),
        (r"\ud83d\ude00 ssn 536\u002d22\u002d8437", [("US_SSN", 17, 38)]),
        # encoded and plain occurrences are both found
        ("a%40example.com b@example.com", [("EMAIL_ADDRESS", 0, 15), ("EMAIL_ADDRESS", 16, 29)]),
    ],
)
def test_encoded_values_map_back_to_the_encoded_span(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert [(span.entity_type, span.start, span.end) for span in ANALYZER.analyze(text)] == expected


def test_trigger_skips_a_detector_when_it_does_not_match() -> None:
    gated = AtSignDetector("gated", (0, 1, 1.0))
    ungated = FixedDetector("ungated")  # a detector without the attribute always runs
    analyzer = Analyzer([gated, ungated])
    assert analyzer.analyze("no at sign") == []
    assert (gated.calls, ungated.calls) == (0, 1)
    assert [span.detector for span in analyzer.analyze("an @ sign")] == ["gated"]
    assert gated.calls == 1


def test_triggers_never_hide_what_their_detector_finds() -> None:
    samples = [
        "ann@example.com",
        "(415) 555-2671",
        "4111 1111 1111 1111",
        "GB82WEST12345698765432",
        "536-22-8437",
        "10.1.2.3 ::1",
        "password=hunter2",
        "Authorization: Bearer abcdef0123456789abcdef",
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiI0MiJ9.",
        "-----BEGIN PRIVATE KEY-----\nMHcCAQEE",
    ]
    for detector in default_detectors():
        trigger = getattr(detector, "trigger", None)
        for sample in samples:
            if list(detector.find(sample)):
                assert trigger is None or trigger.search(sample), (detector.name, sample)


def test_plain_text_is_one_pass() -> None:
    counter = FixedDetector("counter")
    analyzer = Analyzer([counter])
    analyzer.analyze("plain text, 50% of it, with a C:\\path")
    assert counter.calls == 1
    analyzer.analyze("encoded john%40example.com")
    assert counter.calls == 3


VALUES = [
    "ann@example.com",
    "john%40example.com",
    r"john\u0040example.com",
    "(415) 555-2671",
    "+44 20 7946 0958",
    "911-555-0199",
    "4111 1111 1111 1111",
    "4242424242424242",
    "GB82WEST12345698765432",
    "DE89 3704 0044 0532 0130 00",
    "536-22-8437",
    "10.1.2.3",
    "2001:db8::ff00:42:8329",
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    "AKIAIOSFODNN7EXAMPLE",
    "password=hunter2",
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiI0MiJ9.",
    "postgres://u:pw@db.example.com/x",
]
NOISE = st.text(alphabet=st.sampled_from(list("ab Z09.-:@%\\+/=()_'\"\nu4F")), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(NOISE, st.sampled_from(VALUES)), max_size=6), NOISE)
def test_spans_are_sorted_disjoint_and_in_bounds(chunks: list[tuple[str, str]], tail: str) -> None:
    text = "".join(f"{noise} {value} " for noise, value in chunks) + tail
    spans = ANALYZER.analyze(text)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert 0 <= span.score <= 1
    for before, after in itertools.pairwise(spans):
        assert before.end <= after.start


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_gives_valid_spans(text: str) -> None:
    spans = ANALYZER.analyze(text)
    assert all(0 <= span.start < span.end <= len(text) for span in spans)
    assert all(before.end <= after.start for before, after in itertools.pairwise(spans))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(VALUES), min_size=1, max_size=6))
def test_every_injected_value_is_covered(values: list[str]) -> None:
    text = "".join(f"see {value} then " for value in values)
    spans = ANALYZER.analyze(text)
    position = 0
    for value in values:
        start = text.index(value, position)
        position = start + len(value)
        assert any(span.start < position and start < span.end for span in spans), value


def test_allow_list_terms_are_never_findings() -> None:
    from veil.detect.analyzer import Analyzer
    from veil.detect.registry import default_detectors

    text = "write to press@example.com or legal@example.com"
    allowed = Analyzer(default_detectors(), allow=["PRESS@example.com"])
    assert [text[s.start : s.end] for s in allowed.analyze(text)] == ["legal@example.com"]
    assert [text[s.start : s.end] for s in allowed.analyze_many([text])[0]] == ["legal@example.com"]


def test_a_guess_yields_to_validated_findings_and_keeps_the_rest() -> None:
    from veil.detect.analyzer import Analyzer
    from veil.detect.base import Span
    from veil.detect.registry import default_detectors

    class WholeLineGuess:
        name = "guess"
        guesses = True

        def find(self, text: str) -> list[Span]:
            return [Span("PERSON", 0, len(text), 0.99, self.name)]

    text = "Ann Lee <ann.lee@example.org>"
    spans = Analyzer([*default_detectors(), WholeLineGuess()]).analyze(text)
    assert [(s.entity_type, text[s.start : s.end]) for s in spans] == [
        ("PERSON", "Ann Lee"),
        ("EMAIL_ADDRESS", "ann.lee@example.org"),
    ]
