"""`might_find` may say yes too often, never no too often."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from veil.detect.analyzer import Analyzer
from veil.detect.registry import default_detectors

ANALYZER = Analyzer(default_detectors())
SAMPLES = [
    "jo@example.com",
    "jo%40example.com",
    "jo\\u0040example.com",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "901-23-4567",
    "GB82WEST12345698765432",
    "10.0.0.1",
    "2001:db8::1",
    "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z0AbCdEfGh",
    "AKIAIOSFODNN7EXAMPLE",
    "aws secret key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlX2J5dGVz",
    "password: Tr0ub4dor&3",
    "postgres://app:s3cret@db.internal/app",
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----",
]
pieces = st.one_of(st.sampled_from(SAMPLES), st.text(max_size=20))


@settings(max_examples=400, deadline=None)
@given(st.lists(pieces, max_size=4).map(" ".join))
def test_no_means_nothing_to_find(text: str) -> None:
    if not ANALYZER.might_find(text):
        assert ANALYZER.analyze(text) == []


def test_every_sample_is_a_maybe() -> None:
    for sample in SAMPLES:
        assert ANALYZER.analyze(sample), sample
        assert ANALYZER.might_find(sample), sample


def test_plain_prose_is_a_no() -> None:
    assert not ANALYZER.might_find("The parcel left the warehouse on time but was held by the carrier")
