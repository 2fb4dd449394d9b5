from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from veil.cli import cli
from veil.detect.analyzer import Analyzer
from veil.detect.base import Span
from veil.detect.ner import NerDetector, load_pipeline
from veil.detect.registry import default_detectors, prose_detectors
from veil.evaluation import (
    GOLD_TYPES,
    TARGETED,
    CorpusError,
    GoldSpan,
    Report,
    Sample,
    evaluate,
    load_corpus,
    parse_corpus,
)

DATA = Path(__file__).parent / "data"
runner = CliRunner()


class StubAnalyzer:
    """Returns canned spans per text: (type, value) pairs, located by their first occurrence."""

    def __init__(self, found: dict[str, list[tuple[str, str]]]) -> None:
        self.found = found

    def analyze(self, text: str) -> list[Span]:
        spans = []
        for kind, value in self.found.get(text, []):
            start = text.index(value)
            spans.append(Span(kind, start, start + len(value), 1.0, "stub"))
        return spans


def sample(text: str, *gold: tuple[str, str]) -> Sample:
    spans = []
    for kind, value in gold:
        start = text.index(value)
        spans.append(GoldSpan(kind, start, start + len(value)))
    return Sample(text, tuple(spans))


S1 = "Ana Lima met Bo at Rua Augusta 5 on Monday."
S2 = "Reach jo@example.com, ref 12345."
S3 = "Mary Ann Lee signed."
S4 = "Ana, Bo"
CORPUS = [
    # PERSON: a TP and a miss; STREET_ADDRESS found as LOCATION and only in part; a PERSON
    # prediction on a date (not targeted) is set aside, and covers the date.
    sample(
        S1,
        ("PERSON", "Ana Lima"),
        ("PERSON", "Bo"),
        ("STREET_ADDRESS", "Rua Augusta 5"),
        ("DATE_TIME", "Monday"),
    ),
    # An email TP and a phone FP on a reference number.
    sample(S2, ("EMAIL_ADDRESS", "jo@example.com")),
    # One name split in two predictions: one TP, one FP; covered (the space between does not count).
    sample(S3, ("PERSON", "Mary Ann Lee")),
    # One prediction over two names: one TP, one FN; both covered.
    sample(S4, ("PERSON", "Ana"), ("PERSON", "Bo")),
]
STUB = StubAnalyzer(
    {
        S1: [("PERSON", "Ana Lima"), ("LOCATION", "Rua Augusta"), ("PERSON", "Monday")],
        S2: [("EMAIL_ADDRESS", "jo@example.com"), ("PHONE_NUMBER", "12345")],
        S3: [("PERSON", "Mary"), ("PERSON", "Ann Lee")],
        S4: [("PERSON", "Ana, Bo")],
    }
)


def test_scores_per_type() -> None:
    report = evaluate(STUB, CORPUS)
    rows = {name: score.as_dict() for name, score in report.by_type.items()}
    assert rows["PERSON"] == {
        "gold": 5,
        "predicted": 4,
        "tp": 3,
        "fp": 1,
        "fn": 2,
        "precision": 0.75,
        "recall": 0.6,
        "f1": pytest.approx(2 / 3),
        "covered_recall": 0.8,
    }
    assert rows["STREET_ADDRESS"] == {
        "gold": 1,
        "predicted": 0,
        "tp": 0,
        "fp": 0,
        "fn": 1,
        "precision": None,
        "recall": 0.0,
        "f1": 0.0,
        "covered_recall": 0.0,
    }
    assert rows["LOCATION"]["predicted"] == 1
    assert rows["LOCATION"]["fp"] == 1
    assert rows["LOCATION"]["precision"] == 0.0
    assert rows["LOCATION"]["recall"] is None
    assert rows["PHONE_NUMBER"]["fp"] == 1
    assert rows["EMAIL_ADDRESS"]["tp"] == 1
    assert rows["DATE_TIME"] == {
        "gold": 1,
        "predicted": 0,
        "tp": 0,
        "fp": 0,
        "fn": 1,
        "precision": None,
        "recall": 0.0,
        "f1": 0.0,
        "covered_recall": 1.0,
    }
    assert report.ignored == 1
    assert list(report.by_type) == [
        "EMAIL_ADDRESS",
        "LOCATION",
        "PERSON",
        "PHONE_NUMBER",
        "STREET_ADDRESS",
        "DATE_TIME",
    ]


def test_micro_totals() -> None:
    report = evaluate(STUB, CORPUS)
    # Targeted: PERSON 5 + STREET_ADDRESS 1 + EMAIL 1 gold; DATE_TIME is left out.
    assert report.total.as_dict() == {
        "gold": 7,
        "predicted": 7,
        "tp": 4,
        "fp": 3,
        "fn": 3,
        "precision": 4 / 7,
        "recall": 4 / 7,
        "f1": pytest.approx(4 / 7),
        "covered_recall": 5 / 7,
    }
    assert report.structured.as_dict() == {
        "gold": 1,
        "predicted": 2,
        "tp": 1,
        "fp": 1,
        "fn": 0,
        "precision": 0.5,
        "recall": 1.0,
        "f1": pytest.approx(2 / 3),
        "covered_recall": 1.0,
    }
    # Every counted prediction but the phone FP lands on some targeted gold span.
    assert report.any_label_precision == 6 / 7
    assert report.as_dict()["precision"] == 4 / 7


def test_matching_is_one_to_one_and_maximal() -> None:
    # A greedy pass taking the wider prediction first would pair it with the first name and
    # leave the short prediction unmatched; the best pairing matches both names.
    text = "Annabelle Jo"
    corpus = [sample(text, ("PERSON", "Annabelle"), ("PERSON", "Jo"))]
    stub = StubAnalyzer({text: [("PERSON", "belle J"), ("PERSON", "Ann")]})
    score = evaluate(stub, corpus).by_type["PERSON"]
    assert (score.tp, score.fp, score.fn) == (2, 0, 0)


def test_a_prediction_outside_the_targeted_types_is_set_aside() -> None:
    text = "see https://example.test/a"
    stub = StubAnalyzer({text: [("URL", "https://example.test/a")]})
    report = evaluate(stub, [sample(text)])
    assert report.by_type == {}
    assert report.ignored == 1
    assert report.total.precision is None


def test_a_wrong_label_over_a_not_targeted_span_is_still_a_false_positive() -> None:
    # Over a job title alone a prediction is set aside; over a person and a title it is an
    # ORGANIZATION on a PERSON, a wrong label, so it counts.
    text = "Ana Lima\nNurse, and a Welder"
    corpus = [sample(text, ("PERSON", "Ana Lima"), ("TITLE", "Nurse"), ("TITLE", "Welder"))]
    stub = StubAnalyzer({text: [("ORGANIZATION", "Ana Lima\nNurse"), ("ORGANIZATION", "Welder")]})
    report = evaluate(stub, corpus)
    assert (report.by_type["ORGANIZATION"].predicted, report.by_type["ORGANIZATION"].fp) == (1, 1)
    assert report.ignored == 1
    assert report.any_label_precision == 1.0


def test_gold_types_are_mapped_to_veil_names() -> None:
    text = "I moved to Leeds."
    corpus = [sample(text, ("GPE", "Leeds"))]
    score = evaluate(StubAnalyzer({text: [("LOCATION", "Leeds")]}), corpus).by_type["LOCATION"]
    assert (score.gold, score.tp) == (1, 1)
    assert {name for name, veil in GOLD_TYPES.items() if veil is None} == {
        "DATE_TIME",
        "AGE",
        "TITLE",
        "DOMAIN_NAME",
        "ZIP_CODE",
        "US_DRIVER_LICENSE",
    }
    assert all(veil in TARGETED for veil in GOLD_TYPES.values() if veil is not None)


def test_speed_is_milliseconds_per_kilobyte_of_utf8() -> None:
    ticks = iter(index * 0.25 for index in range(100))
    corpus = [Sample("a" * 256, ()), Sample("é" * 128, ())]  # 256 bytes each: 0.5 KB
    report = evaluate(StubAnalyzer({}), corpus, clock=lambda: next(ticks))
    assert report.seconds == 0.5
    assert report.ms_per_kb == 1000.0


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not valid JSON"),
        ('["text"]', '"text"'),
        ('{"text": "abc"}', '"spans"'),
        ('{"text": "abc", "spans": ["x"]}', "span 0 is not an object"),
        ('{"text": "abc", "spans": [{"start": 0, "end": 1}]}', '"type"'),
        ('{"text": "abc", "spans": [{"type": "PERSON", "start": true, "end": 1}]}', "integer"),
        ('{"text": "abc", "spans": [{"type": "PERSON", "start": 1, "end": 9}]}', "outside the text"),
        ('{"text": "abc", "spans": [{"type": "PERSON", "start": 2, "end": 2}]}', "outside the text"),
    ],
)
def test_a_malformed_line_names_its_number(line: str, reason: str) -> None:
    good = '{"text": "ok", "spans": []}'
    with pytest.raises(CorpusError) as caught:
        parse_corpus([good, "", line])
    assert caught.value.line == 3
    assert str(caught.value).startswith("line 3: ")
    assert reason in str(caught.value)


def test_blank_lines_are_skipped() -> None:
    samples = parse_corpus(['{"text": "Jo", "spans": [{"type": "PERSON", "start": 0, "end": 2}]}', "  "])
    assert samples == [Sample("Jo", (GoldSpan("PERSON", 0, 2),))]


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    lines = [
        {"text": "mail jo@example.com now", "spans": [{"type": "EMAIL_ADDRESS", "start": 5, "end": 19}]},
        {"text": "card 4111 1111 1111 1111", "spans": [{"type": "CREDIT_CARD", "start": 5, "end": 24}]},
        {"text": "ref 12345 on Monday", "spans": [{"type": "DATE_TIME", "start": 13, "end": 19}]},
    ]
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    return path


def test_eval_prints_a_table(corpus_file: Path) -> None:
    result = runner.invoke(cli, ["eval", str(corpus_file)])
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 2}
    assert [cell.strip() for cell in rows["EMAIL_ADDRESS"].split("│")[2:9]] == [
        "1",
        "1",
        "1",
        "1.000",
        "1.000",
        "1.000",
        "1.000",
    ]
    assert [cell.strip() for cell in rows["DATE_TIME"].split("│")[2:4]] == ["1", "0.000"]
    assert "structured (micro)" in rows
    assert "3 samples" in result.output


def test_eval_json(corpus_file: Path) -> None:
    result = runner.invoke(cli, ["eval", "--json", str(corpus_file)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["samples"] == 3
    assert report["types"]["CREDIT_CARD"] == {
        "targeted": True,
        "gold": 1,
        "predicted": 1,
        "tp": 1,
        "fp": 0,
        "fn": 0,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "covered_recall": 1.0,
    }
    assert report["types"]["DATE_TIME"]["targeted"] is False
    assert report["structured"]["recall"] == 1.0
    assert report["ms_per_kb"] > 0


def test_eval_rejects_a_malformed_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "spans": []}\n{"text": "my secret value", "spans": [1]}\n')
    result = runner.invoke(cli, ["eval", str(path)])
    assert result.exit_code == 2
    assert "line 2: span 0 is not an object" in result.output
    assert "my secret value" not in result.output


def test_eval_of_a_missing_file_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(cli, ["eval", str(tmp_path / "absent.jsonl")])
    assert result.exit_code == 2


def _boundaries(path: Path) -> Iterator[tuple[int, str, str]]:
    for number, item in enumerate(load_corpus(path), start=1):
        end = 0
        for span in item.spans:
            value = item.text[span.start : span.end]
            yield number, value, "overlaps the previous span" if span.start < end else ""
            if value != value.strip():
                yield number, value, "starts or ends with whitespace"
            if span.start and item.text[span.start - 1].isalnum():
                yield number, value, "starts inside a word"
            if span.end < len(item.text) and item.text[span.end].isalnum():
                yield number, value, "ends inside a word"
            end = span.end


def test_hand_written_prompts_have_clean_spans() -> None:
    problems = [(number, reason) for number, _, reason in _boundaries(DATA / "veil_prompts.jsonl") if reason]
    assert problems == []


def test_presidio_corpus_is_the_frozen_one() -> None:
    # Spans follow the generator (a literal backslash-n may precede a value): only the shape is checked.
    samples = load_corpus(DATA / "presidio_corpus.jsonl")
    assert (len(samples), sum(len(item.spans) for item in samples)) == (3000, 5599)
    assert len({span.type for item in samples for span in item.spans}) == 17


def test_hand_written_prompts_cover_the_types_and_negatives() -> None:
    samples = load_corpus(DATA / "veil_prompts.jsonl")
    kinds = {span.type for item in samples for span in item.spans}
    assert kinds == {
        "PERSON",
        "LOCATION",
        "STREET_ADDRESS",
        "ORGANIZATION",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "IP_ADDRESS",
    }
    assert sum(not item.spans for item in samples) >= 10
    assert len(samples) >= 60


def test_rule_detectors_on_the_structured_types_of_the_hand_written_prompts() -> None:
    report = evaluate(Analyzer(default_detectors()), load_corpus(DATA / "veil_prompts.jsonl"))
    assert report.structured.as_dict() == {
        "gold": 19,
        "predicted": 19,
        "tp": 19,
        "fp": 0,
        "fn": 0,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
        "covered_recall": 1.0,
    }


@pytest.fixture(scope="module")
def presidio_report() -> Report:
    return evaluate(Analyzer(default_detectors()), load_corpus(DATA / "presidio_corpus.jsonl"))


def test_structured_types_meet_the_target_on_the_presidio_corpus(presidio_report: Report) -> None:
    # Issue 3's target for email, phone, card, SSN, IP and IBAN, typed micro-average.
    structured = presidio_report.structured
    assert structured.recall is not None and structured.recall >= 0.98
    assert structured.f1 is not None and structured.f1 >= 0.95
    assert structured.precision is not None and structured.precision >= 0.98


def test_structured_types_do_not_regress_on_the_presidio_corpus(presidio_report: Report) -> None:
    # Measured with the rule detectors; raise these as detectors improve.
    rows = presidio_report.by_type
    for name in ("EMAIL_ADDRESS", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CREDIT_CARD"):
        assert (rows[name].recall, rows[name].precision) == (1.0, 1.0), name
    assert rows["PHONE_NUMBER"].tp >= 224
    assert presidio_report.structured.fp == 0


def _full_analyzer() -> Analyzer:
    """What `veil eval` runs by default: rules, addresses, names and places, then the NER model."""
    return Analyzer([*default_detectors(), *prose_detectors(), NerDetector(load_pipeline())])


@pytest.fixture(scope="module")
def full_reports() -> dict[str, Report]:
    analyzer = _full_analyzer()
    return {
        name: evaluate(analyzer, load_corpus(DATA / f"{name}.jsonl"))
        for name in ("presidio_corpus", "veil_prompts")
    }


def test_full_analyzer_on_the_presidio_corpus(full_reports: dict[str, Report]) -> None:
    # Measured with en_core_web_sm 3.8.0 (P 0.810, any-label 0.939; PERSON covered 0.942,
    # LOCATION 0.910, STREET_ADDRESS 0.919); a little below, so a regression fails.
    report = full_reports["presidio_corpus"]
    rows = report.by_type
    assert report.total.precision is not None and report.total.precision >= 0.80
    assert report.any_label_precision is not None and report.any_label_precision >= 0.93
    assert report.structured.recall is not None and report.structured.recall >= 0.98
    assert report.structured.f1 is not None and report.structured.f1 >= 0.95
    covered = {name: rows[name].covered_recall or 0.0 for name in ("PERSON", "LOCATION", "STREET_ADDRESS")}
    assert covered["PERSON"] >= 0.94
    assert covered["LOCATION"] >= 0.905
    assert covered["STREET_ADDRESS"] >= 0.915
    person, organization = rows["PERSON"], rows["ORGANIZATION"]
    assert (person.precision or 0.0) >= 0.86 and (person.recall or 0.0) >= 0.82
    assert (organization.precision or 0.0) >= 0.48


def test_full_analyzer_on_the_hand_written_prompts(full_reports: dict[str, Report]) -> None:
    # Measured: P 0.855; PERSON R 0.863, covered 0.922; LOCATION and STREET_ADDRESS covered 1.0.
    report = full_reports["veil_prompts"]
    rows = report.by_type
    assert report.total.precision is not None and report.total.precision >= 0.85
    assert (rows["PERSON"].recall or 0.0) >= 0.86
    assert (rows["PERSON"].covered_recall or 0.0) >= 0.92
    assert rows["LOCATION"].covered_recall == 1.0
    assert rows["STREET_ADDRESS"].covered_recall == 1.0
    assert report.structured.recall == 1.0
