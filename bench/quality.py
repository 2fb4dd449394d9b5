"""Detection quality of Veil's tiers and Presidio on the same frozen corpus, by `veil.evaluation`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from bench.report import Section
from veil.evaluation import Report, Sample, Score, SpanAnalyzer, evaluate, load_corpus

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "presidio_corpus.jsonl"

# Issue 3's targets, by row: (what is compared, threshold).
TARGETS: dict[str, tuple[str, float]] = {
    "structured (micro)": ("R", 0.98),
    "PERSON": ("covered", 0.95),
    "LOCATION": ("covered", 0.90),
    "STREET_ADDRESS": ("covered", 0.90),
    "all targeted (micro)": ("P", 0.85),
}
ROWS = ("PERSON", "LOCATION", "STREET_ADDRESS", "ORGANIZATION", "NRP")


def corpus(limit: int | None = None) -> list[Sample]:
    samples = load_corpus(CORPUS)
    return samples[:limit] if limit else samples


def reports(analyzers: Mapping[str, SpanAnalyzer], samples: Sequence[Sample]) -> dict[str, Report]:
    return {name: evaluate(analyzer, samples) for name, analyzer in analyzers.items()}


def section(reports: Mapping[str, Report], samples: Sequence[Sample], judged: Sequence[str]) -> Section:
    """One row per type and analyzer; issue 3's verdicts on the `judged` analyzers' rows."""
    table = Section(
        f"Detection quality on {CORPUS.name} ({len(samples)} samples, {_kilobytes(samples):.0f} KB)",
        ["type", "gold", "analyzer", "P", "R", "F1", "covered", "issue 3 target"],
    )
    first = next(iter(reports.values()))
    for row in (*ROWS, "structured (micro)", "all targeted (micro)"):
        for name, report in reports.items():
            score = _score(report, row)
            table.rows.append(
                [
                    row if name == next(iter(reports)) else "",
                    str(_score(first, row).gold) if name == next(iter(reports)) else "",
                    name,
                    _ratio(score.precision),
                    _ratio(score.recall),
                    _ratio(score.f1),
                    _ratio(score.covered_recall),
                    _verdict(row, score) if name in judged else "",
                ]
            )
    speeds = ", ".join(f"{name} {report.ms_per_kb or 0:.1f} ms" for name, report in reports.items())
    table.note = (
        "Scored by `veil.evaluation` (the rules of `veil eval`): P, R and F1 count a prediction of the same "
        "type overlapping a gold span, one to one; 'covered' is the share of gold spans whose characters are "
        "all inside some prediction of any type (what keeps the value from leaving). Predictions of types "
        "Veil does not target (Presidio's URL, DATE_TIME...) are set aside, not counted as false. "
        "Presidio's results are taken as its analyzer returns them, with its types mapped to Veil's "
        f"(`bench/presidio_peer.py`). Targets are judged on Veil with a model ({', '.join(judged)}: the "
        "default, and the optional en_core_web_md when installed; `make bench` installs it); "
        "the structured target also asks F1 ≥ 0.95. Time per KB over the corpus, one call per sample of "
        f"~{1024 * _kilobytes(samples) / max(1, len(samples)):.0f} B (so a model's fixed cost per call "
        f"dominates): {speeds}."
    )
    return table


def _kilobytes(samples: Sequence[Sample]) -> float:
    return sum(len(sample.text.encode()) for sample in samples) / 1024


def _score(report: Report, row: str) -> Score:
    if row == "structured (micro)":
        return report.structured
    if row == "all targeted (micro)":
        return report.total
    return report.by_type.get(row, Score(0, 0, 0, 0))


def _verdict(row: str, score: Score) -> str:
    if row not in TARGETS:
        return ""
    measure, threshold = TARGETS[row]
    value = {"R": score.recall, "P": score.precision, "covered": score.covered_recall}[measure]
    met = value is not None and value >= threshold
    if row == "structured (micro)":
        met = met and (score.f1 or 0) >= 0.95
        return f"R ≥ {threshold:g}, F1 ≥ 0.95: {'met' if met else 'MISSED'}"
    return f"{measure} ≥ {threshold:g}: {'met' if met else 'MISSED'}"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
