"""Detection quality against a labelled corpus: per-type precision, recall, F1 and covered recall.

Corpus: JSONL, one sample a line, `{"text": str, "spans": [{"type": str, "start": int, "end": int}]}`
with character offsets (the format presidio-evaluator produces). Blank lines are skipped.

Gold types are first mapped to Veil's names (`GOLD_TYPES`: presidio-evaluator's GPE is Veil's
LOCATION); a type absent from the table keeps its name. A gold type whose Veil name is not in
`TARGETED` is *not targeted*: Veil does not claim to find it (DATE_TIME, AGE, TITLE...).

Matching rule (typed scores), per sample and per targeted type T:
- a predicted span of type T and a gold span of type T match when they overlap by at least one
  character (not exact match: "Mr. John Smith" against gold "John Smith" protects the person, and
  generators disagree about where a value ends);
- matching is one to one and maximal: each gold span and each prediction is counted at most once, and
  among the ways to pair them the one with the most pairs is taken. One prediction spanning two gold
  names is one TP and one FN; two predictions splitting one gold name are one TP and one FP;
- TP(T) = matched pairs, FN(T) = gold spans of T left unmatched, FP(T) = predictions of T left
  unmatched, except those that overlap a not-targeted gold span and no targeted one: those are set
  aside (`ignored`), neither TP nor FP, because finding a date or a job title is not a false alarm.
  A prediction that also overlaps a targeted gold span of another type ("Ana Lima\\nNurse" read as
  one ORGANIZATION over a PERSON and a TITLE) is a wrong label, so it stays an FP. Predictions of a
  type outside `TARGETED` are set aside too;
- a prediction of the wrong targeted type (LOCATION on a gold PERSON) is an FP of its type and leaves
  the gold span an FN; the redaction still protects, which covered recall shows.

Covered recall, per gold type, targeted or not: the fraction of gold spans whose characters are all
inside the union of predicted spans of ANY type. Whitespace inside a gold span need not be covered
("John Smith" found as "John" and "Smith" is covered). This is what protects a person: the value
never reaches the upstream, whatever label replaced it.

Totals are micro-averaged (counts summed, then divided) over all targeted types, and over the
structured types alone. `any_label_precision` is the fraction of counted predictions that overlap
some targeted gold span of any type: how often a redaction hid something real.

Speed: the analyzer's wall time over every sample, in milliseconds per KB (1024 bytes of UTF-8).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeGuard

from veil.detect.base import Span

# presidio-evaluator 0.3.2's 17 output types -> Veil's names; None: not a Veil type.
GOLD_TYPES: dict[str, str | None] = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "STREET_ADDRESS": "STREET_ADDRESS",
    "ORGANIZATION": "ORGANIZATION",
    "NRP": "NRP",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN_CODE",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "DATE_TIME": None,
    "AGE": None,
    "TITLE": None,  # honorifics (Mr., Dr.) and job titles
    "DOMAIN_NAME": None,  # URLs: Veil finds no URLs
    "ZIP_CODE": None,  # lone postcodes ("415", "81-521"): found only inside a street address
    "US_DRIVER_LICENSE": None,
}

STRUCTURED: frozenset[str] = frozenset(
    {"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IP_ADDRESS", "IBAN_CODE"}
)

# The types Veil's detectors claim to find.
TARGETED: frozenset[str] = STRUCTURED | frozenset(
    {
        "PERSON",
        "LOCATION",
        "STREET_ADDRESS",
        "ORGANIZATION",
        "NRP",
        "API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "JWT",
        "PRIVATE_KEY",
        "PASSWORD",
    }
)


class SpanAnalyzer(Protocol):
    """Anything that finds spans in a text; `veil.detect.analyzer.Analyzer` is one."""

    def analyze(self, text: str) -> list[Span]: ...


class CorpusError(ValueError):
    """A corpus line that is not a valid sample. The message names the line, never its content."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line


@dataclass(frozen=True, slots=True)
class GoldSpan:
    type: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Sample:
    text: str
    spans: tuple[GoldSpan, ...]


@dataclass(frozen=True, slots=True)
class Score:
    """Counts for one type, or summed over several; the ratios are None when undefined."""

    gold: int
    predicted: int
    tp: int
    covered: int

    @property
    def fp(self) -> int:
        return self.predicted - self.tp

    @property
    def fn(self) -> int:
        return self.gold - self.tp

    @property
    def precision(self) -> float | None:
        return self.tp / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.tp / self.gold if self.gold else None

    @property
    def f1(self) -> float | None:
        precision, recall = self.precision, self.recall
        if precision == 0 or recall == 0:
            return 0.0
        if precision is None or recall is None:
            return None
        return 2 * precision * recall / (precision + recall)

    @property
    def covered_recall(self) -> float | None:
        return self.covered / self.gold if self.gold else None

    def __add__(self, other: Score) -> Score:
        return Score(
            self.gold + other.gold,
            self.predicted + other.predicted,
            self.tp + other.tp,
            self.covered + other.covered,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "gold": self.gold,
            "predicted": self.predicted,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "covered_recall": self.covered_recall,
        }


_ZERO = Score(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Report:
    """Scores per type (Veil's names), micro totals, and the analyzer's speed."""

    by_type: dict[str, Score]
    targeted: frozenset[str]
    ignored: int
    any_label_hits: int
    samples: int
    kilobytes: float
    seconds: float

    @property
    def total(self) -> Score:
        return sum((s for t, s in self.by_type.items() if t in self.targeted), _ZERO)

    @property
    def structured(self) -> Score:
        return sum((s for t, s in self.by_type.items() if t in STRUCTURED), _ZERO)

    @property
    def any_label_precision(self) -> float | None:
        predicted = self.total.predicted
        return self.any_label_hits / predicted if predicted else None

    @property
    def ms_per_kb(self) -> float | None:
        return 1000 * self.seconds / self.kilobytes if self.kilobytes else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "kilobytes": round(self.kilobytes, 3),
            "ms_per_kb": self.ms_per_kb,
            "types": {
                name: {"targeted": name in self.targeted, **score.as_dict()}
                for name, score in self.by_type.items()
            },
            "total": self.total.as_dict(),
            "structured": self.structured.as_dict(),
            "precision": self.total.precision,
            "any_label_precision": self.any_label_precision,
            "ignored_predictions": self.ignored,
        }


def parse_corpus(lines: Iterable[str]) -> list[Sample]:
    """Samples from JSONL lines; raises CorpusError naming the first bad line (1-based)."""
    samples = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            samples.append(_parse_sample(number, line))
    return samples


def load_corpus(path: Path) -> list[Sample]:
    with path.open(encoding="utf-8") as lines:
        return parse_corpus(lines)


def evaluate(
    analyzer: SpanAnalyzer,
    samples: Sequence[Sample],
    *,
    gold_types: dict[str, str | None] = GOLD_TYPES,
    targeted: frozenset[str] = TARGETED,
    clock: Callable[[], float] = time.perf_counter,
) -> Report:
    """Runs `analyzer` over every sample and scores it by the rules in this module's docstring."""
    gold_count: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    tp: Counter[str] = Counter()
    covered: Counter[str] = Counter()
    ignored = any_label_hits = 0
    seconds = 0.0
    for sample in samples:
        started = clock()
        found = analyzer.analyze(sample.text)
        seconds += clock() - started
        gold = [(_veil_type(span.type, gold_types), span) for span in sample.spans]
        aimed = [(name, span) for name, span in gold if name in targeted]
        untargeted = [span for name, span in gold if name not in targeted]
        for name, gold_span in gold:
            gold_count[name] += 1
            covered[name] += _is_covered(sample.text, gold_span, found)
        ignored += sum(span.entity_type not in targeted for span in found)
        names = {span.entity_type for span in found if span.entity_type in targeted}
        for name in names | {name for name, _ in aimed}:
            mine = [span for span in found if span.entity_type == name]
            matched = _match(mine, [gold_span for kind, gold_span in aimed if kind == name])
            tp[name] += len(matched)
            for index, prediction in enumerate(mine):
                hits_aimed = any(_overlap(prediction, g) for _, g in aimed)
                if (
                    index not in matched
                    and not hits_aimed
                    and any(_overlap(prediction, g) for g in untargeted)
                ):
                    ignored += 1
                    continue
                predicted[name] += 1
                any_label_hits += hits_aimed
    rows = sorted(gold_count.keys() | predicted.keys(), key=lambda n: (n not in targeted, n))
    by_type = {name: Score(gold_count[name], predicted[name], tp[name], covered[name]) for name in rows}
    kilobytes = sum(len(sample.text.encode()) for sample in samples) / 1024
    return Report(by_type, targeted, ignored, any_label_hits, len(samples), kilobytes, seconds)


def _veil_type(gold_type: str, gold_types: dict[str, str | None]) -> str:
    """Veil's name for a gold type; a not-targeted presidio type keeps its own name."""
    if gold_type in gold_types:
        return gold_types[gold_type] or gold_type
    return gold_type


def _overlap(a: Span, b: GoldSpan) -> bool:
    return a.start < b.end and b.start < a.end


def _is_covered(text: str, gold: GoldSpan, found: Sequence[Span]) -> bool:
    return all(
        text[index].isspace() or any(span.start <= index < span.end for span in found)
        for index in range(gold.start, gold.end)
    )


def _match(predicted: Sequence[Span], gold: Sequence[GoldSpan]) -> set[int]:
    """Indices of predictions in a maximum one-to-one matching by overlap (augmenting paths)."""
    owner: dict[int, int] = {}  # gold index -> prediction index

    def augment(p: int, seen: set[int]) -> bool:
        for g, span in enumerate(gold):
            if g in seen or not _overlap(predicted[p], span):
                continue
            seen.add(g)
            if g not in owner or augment(owner[g], seen):
                owner[g] = p
                return True
        return False

    for p in range(len(predicted)):
        augment(p, set())
    return set(owner.values())


def _parse_sample(number: int, line: str) -> Sample:
    try:
        data = json.loads(line)
    except ValueError:
        raise CorpusError(number, "not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise CorpusError(number, 'expected a JSON object with a string "text"')
    text: str = data["text"]
    raw_spans = data.get("spans")
    if not isinstance(raw_spans, list):
        raise CorpusError(number, 'expected "spans" to be a list')
    spans = []
    for index, raw in enumerate(raw_spans):
        if not isinstance(raw, dict):
            raise CorpusError(number, f"span {index} is not an object")
        kind, start, end = raw.get("type"), raw.get("start"), raw.get("end")
        if not isinstance(kind, str) or not kind:
            raise CorpusError(number, f'span {index} needs a string "type"')
        if not _is_int(start) or not _is_int(end):
            raise CorpusError(number, f'span {index} needs integer "start" and "end"')
        if not 0 <= start < end <= len(text):
            raise CorpusError(number, f"span {index} offsets {start}..{end} are outside the text")
        spans.append(GoldSpan(kind, start, end))
    return Sample(text, tuple(spans))


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
