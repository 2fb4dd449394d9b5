"""Runs detectors over a text and returns one non-overlapping set of spans.

Overlaps: detectors are independent, so their spans collide (an IBAN's digits look like
a phone number; a password value can be an email address). Spans are taken greedily in
this order of preference, and each one that overlaps an already-taken span is dropped:
1. the longer span, because it usually contains the other (keep the IBAN, not the phone
   number inside it) and because a replaced superset never leaves part of a value behind;
2. the higher score, so a specific detector beats a generic one on the same characters
   (an `sk-proj-...` key beats the PASSWORD reading of `api_key=sk-proj-...`);
3. the detector listed first, so results do not depend on set or dict order;
4. the earlier start.

Encoded values: when the text holds `%XX` or backslash escapes, detectors also run over
decoded views of it (see `decoded_view`) and those spans are mapped back to the encoded
characters of the original. Plain text, the common case, is a single pass.

Triggers: a detector may carry an optional `trigger` attribute, a compiled pattern that
must `search` the text before the detector runs at all (a card needs four digits in a
row, an email an `@`). It is a cost hint, not part of the `Detector` protocol, so it is
read with `getattr` and a detector without one always runs. A trigger must never be
stricter than the detector: skipping is only correct when the detector would find nothing.
`might_find` joins the triggers into one pattern, so a caller scanning many small texts
(the stream guard, once per delta) can skip the whole pass with one search.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence

from veil.detect.base import Detector, Span
from veil.detect.decoded_view import ESCAPE, decoded_views


class Analyzer:
    """Finds values with a fixed sequence of detectors; earlier detectors win ties."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        self._triggers: tuple[re.Pattern[str] | None, ...] = tuple(
            getattr(detector, "trigger", None) for detector in self.detectors
        )
        self._any_trigger = _union(self._triggers)
        self._rank: dict[str, int] = {}
        for index, detector in enumerate(self.detectors):
            self._rank.setdefault(detector.name, index)

    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping spans of `text`, sorted by start."""
        candidates = self._detect(text)
        if ("%" in text or "\\" in text) and ESCAPE.search(text):
            for view in decoded_views(text):
                candidates.extend(view.to_original(span) for span in self._detect(view.text))
        return self._resolve(candidates)

    def might_find(self, text: str) -> bool:
        """False only when no detector could find anything in `text`, encoded or not."""
        if self._any_trigger is None or self._any_trigger.search(text):
            return True
        return ("%" in text or "\\" in text) and ESCAPE.search(text) is not None

    def _detect(self, text: str) -> list[Span]:
        found: list[Span] = []
        for detector, trigger in zip(self.detectors, self._triggers, strict=True):
            if trigger is None or trigger.search(text):
                found.extend(_in_bounds(detector.find(text), len(text)))
        return found

    def _resolve(self, candidates: list[Span]) -> list[Span]:
        last = len(self.detectors)

        def preference(span: Span) -> tuple[int, float, int, int]:
            return (span.start - span.end, -span.score, self._rank.get(span.detector, last), span.start)

        starts: list[int] = []
        chosen: list[Span] = []
        for span in sorted(candidates, key=preference):
            index = bisect_right(starts, span.start)
            if index and chosen[index - 1].end > span.start:
                continue
            if index < len(chosen) and chosen[index].start < span.end:
                continue
            starts.insert(index, span.start)
            chosen.insert(index, span)
        return chosen


def _union(triggers: Sequence[re.Pattern[str] | None]) -> re.Pattern[str] | None:
    """One pattern matching wherever any trigger does; None if a detector has none."""
    parts = []
    for trigger in triggers:
        if trigger is None:
            return None
        flags = "i" if trigger.flags & re.IGNORECASE else ""
        parts.append(f"(?{flags}:{trigger.pattern})" if flags else f"(?:{trigger.pattern})")
    return re.compile("|".join(parts))


def _in_bounds(spans: Iterable[Span], length: int) -> Iterable[Span]:
    """Drops empty or out-of-range spans, so a faulty detector cannot corrupt a rewrite."""
    return (span for span in spans if 0 <= span.start < span.end <= length)
