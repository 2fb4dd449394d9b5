"""A policy's own detectors: regular expressions and deny-list terms."""

from __future__ import annotations

import pytest

from veil.detect.analyzer import Analyzer
from veil.detect.custom import DENY_LIST, PatternDetector, TermsDetector
from veil.detect.registry import default_detectors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("badge EMP-004211 at the door", [("EMPLOYEE_ID", "EMP-004211")]),
        ("EMP-42 is too short", []),
        ("two: EMP-000001,EMP-999999", [("EMPLOYEE_ID", "EMP-000001"), ("EMPLOYEE_ID", "EMP-999999")]),
    ],
)
def test_a_pattern_detector_finds_its_matches(text: str, expected: list[tuple[str, str]]) -> None:
    detector = PatternDetector("EMPLOYEE_ID", r"EMP-\d{6}", 0.9)

    assert [(s.entity_type, text[s.start : s.end]) for s in detector.find(text)] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Status of project falcon?", ["project falcon"]),
        ("PROJECT   FALCON ships", ["PROJECT   FALCON"]),
        ("Project Falconry is a hobby", []),
        ("Nightjar and Falcon", ["Nightjar"]),
    ],
)
def test_deny_terms_match_whole_words_in_any_case(text: str, expected: list[str]) -> None:
    detector = TermsDetector(["Project Falcon", "Nightjar"])

    spans = list(detector.find(text))

    assert [text[s.start : s.end] for s in spans] == expected
    assert all(s.entity_type == DENY_LIST for s in spans)


def test_policy_detectors_join_the_analyzer_and_its_triggers() -> None:
    analyzer = Analyzer(
        [*default_detectors(), PatternDetector("EMPLOYEE_ID", r"EMP-\d{6}", 0.9), TermsDetector(["Nightjar"])]
    )
    text = "EMP-004211 on Nightjar, mail ana@example.com"

    found = [(s.entity_type, text[s.start : s.end]) for s in analyzer.analyze(text)]

    assert found == [
        ("EMPLOYEE_ID", "EMP-004211"),
        (DENY_LIST, "Nightjar"),
        ("EMAIL_ADDRESS", "ana@example.com"),
    ]
    assert analyzer.might_find("only Nightjar here")
