"""Detectors a policy defines: its own regular expressions, and its deny-list terms."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from veil.detect.base import Span
from veil.detect.wordlist import trie_pattern

DENY_LIST = "DENY_LIST"


class PatternDetector:
    """Every match of a policy's regular expression is a value of its entity type."""

    def __init__(self, entity_type: str, pattern: str, score: float) -> None:
        self.name = f"policy:{entity_type}"
        self._entity_type = entity_type
        self._score = score
        self.trigger = re.compile(pattern)

    def find(self, text: str) -> Iterator[Span]:
        for match in self.trigger.finditer(text):
            if match.end() > match.start():
                yield Span(self._entity_type, match.start(), match.end(), self._score, self.name)


class TermsDetector:
    """Terms that are always personal or confidential (project code names, a client's name),
    matched case-insensitively as whole words."""

    def __init__(self, terms: Iterable[str], entity_type: str = DENY_LIST) -> None:
        self.name = f"policy:{entity_type.lower()}"
        self._entity_type = entity_type
        words = sorted({" ".join(term.casefold().split()) for term in terms if term.strip()})
        self.trigger = (
            re.compile(rf"(?<!\w)(?:{trie_pattern(words)})(?!\w)", re.IGNORECASE) if words else None
        )

    def find(self, text: str) -> Iterator[Span]:
        if self.trigger is None:
            return
        for match in self.trigger.finditer(text):
            yield Span(self._entity_type, match.start(), match.end(), 1.0, self.name)
