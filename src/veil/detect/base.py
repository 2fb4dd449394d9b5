"""What a detector is and what it returns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Span:
    """One finding: `text[start:end]` is a value of `entity_type`.

    Offsets are character offsets into the text the detector was given.
    """

    entity_type: str
    start: int
    end: int
    score: float
    detector: str

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def __len__(self) -> int:
        return self.end - self.start


class TooMuchText(Exception):
    """A detector was given more text in one call than it may read (see `NerDetector`).

    The caller must not forward the text unchecked: it answers that the request is too large.
    """

    def __init__(self, chars: int, limit: int) -> None:
        super().__init__(f"{chars} characters of new text; the limit is {limit} per request.")
        self.chars = chars
        self.limit = limit


class Detector(Protocol):
    """Finds values of one family (emails, cards, secrets...) in plain text.

    A detector never raises on odd input; it returns no spans instead. Overlaps between
    detectors are resolved by the Analyzer, not here.
    """

    name: str

    def find(self, text: str) -> Iterable[Span]: ...


class TextAnalyzer(Protocol):
    """Finds every value in a text: non-overlapping spans, sorted by start."""

    def analyze(self, text: str) -> list[Span]: ...

    def analyze_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """`analyze` for each text, batched where a detector can batch."""
        ...

    def might_find(self, text: str) -> bool:
        """A cheap test: False only when `analyze(text)` would certainly find nothing."""
        ...
