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
Detectors that guess rather than validate (`guesses = True`: the NER model, name lists)
come after all the others: a guess never displaces a validated finding, and only the
part of it outside the findings is kept.

Markdown emphasis: the underscores of `_value_` would glue a value to them, so detectors
read the text with those underscores blanked (`emphasis.without_emphasis`: same length,
same offsets).

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
from veil.detect.emphasis import without_emphasis


class Analyzer:
    """Finds values with a fixed sequence of detectors; earlier detectors win ties."""

    def __init__(self, detectors: Sequence[Detector], *, allow: Iterable[str] = ()) -> None:
        self.detectors = tuple(detectors)
        self.allowed = tuple(allow)
        # Allowed terms are compared case-insensitively against a whole span's text.
        self._allow = frozenset(term.casefold() for term in allow)
        self._triggers: tuple[re.Pattern[str] | None, ...] = tuple(
            getattr(detector, "trigger", None) for detector in self.detectors
        )
        self._any_trigger = _union(self._triggers)
        # Detectors that guess (a statistical model, a name list) rather than validate.
        self._guessers = frozenset(d.name for d in self.detectors if getattr(d, "guesses", False))
        self._rank: dict[str, int] = {}
        for index, detector in enumerate(self.detectors):
            self._rank.setdefault(detector.name, index)

    def analyze(self, text: str) -> list[Span]:
        """Non-overlapping spans of `text`, sorted by start."""
        candidates = self._detect(without_emphasis(text))
        if ("%" in text or "\\" in text) and ESCAPE.search(text):
            for view in decoded_views(text):
                candidates.extend(
                    view.to_original(span) for span in self._detect(without_emphasis(view.text))
                )
        return self._resolve(text, self._allowed(text, candidates))

    def analyze_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """`analyze` for each text. A detector with a `find_many` method (the NER model)
        gets all texts, and their decoded views, in one batched call."""
        views = [decoded_views(t) if ("%" in t or "\\" in t) and ESCAPE.search(t) else [] for t in texts]
        batch = [without_emphasis(t) for t in texts] + [
            without_emphasis(view.text) for text_views in views for view in text_views
        ]
        found = self._detect_many(batch)
        results = []
        position = len(texts)
        for index, text_views in enumerate(views):
            candidates = found[index]
            for view in text_views:
                candidates.extend(view.to_original(span) for span in found[position])
                position += 1
            results.append(self._resolve(texts[index], self._allowed(texts[index], candidates)))
        return results

    def might_find(self, text: str) -> bool:
        """False only when no detector could find anything in `text`, encoded or not."""
        if self._any_trigger is None or self._any_trigger.search(text):
            return True
        return ("%" in text or "\\" in text) and ESCAPE.search(text) is not None

    def _allowed(self, text: str, candidates: list[Span]) -> list[Span]:
        if not self._allow:
            return candidates
        return [s for s in candidates if text[s.start : s.end].casefold() not in self._allow]

    def _detect(self, text: str) -> list[Span]:
        found: list[Span] = []
        for detector, trigger in zip(self.detectors, self._triggers, strict=True):
            if trigger is None or trigger.search(text):
                found.extend(_in_bounds(detector.find(text), len(text)))
        return found

    def _detect_many(self, texts: Sequence[str]) -> list[list[Span]]:
        found: list[list[Span]] = [[] for _ in texts]
        for detector, trigger in zip(self.detectors, self._triggers, strict=True):
            wanted = [i for i, text in enumerate(texts) if trigger is None or trigger.search(text)]
            if not wanted:
                continue
            find_many = getattr(detector, "find_many", None)
            if find_many is not None and len(wanted) > 1:
                for i, spans in zip(wanted, find_many([texts[i] for i in wanted]), strict=True):
                    found[i].extend(_in_bounds(spans, len(texts[i])))
            else:
                for i in wanted:
                    found[i].extend(_in_bounds(detector.find(texts[i]), len(texts[i])))
        return found

    def _resolve(self, text: str, candidates: list[Span]) -> list[Span]:
        last = len(self.detectors)

        def preference(span: Span) -> tuple[int, float, int, int]:
            return (span.start - span.end, -span.score, self._rank.get(span.detector, last), span.start)

        taken = _Taken()
        guesses = []
        for span in sorted(candidates, key=preference):
            if span.detector in self._guessers:
                guesses.append(span)
            else:
                taken.add_if_free(span)
        # A guess (a model's or a list's) never displaces a validated finding; the part
        # of it outside the findings is kept, so "Ann Lee <ann@x.org>" read whole as one
        # PERSON still yields the name and the email.
        for span in guesses:
            for piece in taken.outside(text, span):
                taken.add_if_free(piece)
        return taken.spans


class _Taken:
    """The spans chosen so far: sorted, never overlapping."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self.spans: list[Span] = []

    def add_if_free(self, span: Span) -> None:
        index = bisect_right(self._starts, span.start)
        if index and self.spans[index - 1].end > span.start:
            return
        if index < len(self.spans) and self.spans[index].start < span.end:
            return
        self._starts.insert(index, span.start)
        self.spans.insert(index, span)

    def outside(self, text: str, span: Span) -> list[Span]:
        """The parts of `span` no chosen span covers, trimmed, each holding a letter."""
        pieces = []
        start = span.start
        for chosen in self.spans:
            if chosen.end <= start or chosen.start >= span.end:
                continue
            pieces.append((start, chosen.start))
            start = max(start, chosen.end)
        pieces.append((start, span.end))
        kept = []
        for begin, end in pieces:
            while begin < end and not text[begin].isalnum():
                begin += 1
            while end > begin and not text[end - 1].isalnum():
                end -= 1
            if end - begin > 1 and any(c.isalpha() for c in text[begin:end]):
                kept.append(Span(span.entity_type, begin, end, span.score, span.detector))
        return kept


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
