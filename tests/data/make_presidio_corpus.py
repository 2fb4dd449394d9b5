"""Generates `presidio_corpus.jsonl`, the frozen development corpus. Run once; tests only read the file.

How it was run (Python 3.11, in a scratch venv outside the repo; presidio-evaluator is not a
dependency of Veil and must not become one):

    python3 -m venv /tmp/pe
    /tmp/pe/bin/pip install presidio-evaluator==0.3.2   # pulled in Faker 40.63.0, spaCy 3.8.18
    /tmp/pe/bin/python tests/data/make_presidio_corpus.py tests/data/presidio_corpus.jsonl

Generator: `PresidioSentenceFaker(locale="en_US", lower_case_ratio=0.05, random_seed=42)
.generate_new_fake_sentences(3000)`. The sentence templates, the fake-person records and the
organization/nationality lists are presidio-evaluator's own (third-party, MIT-licensed); the values
come from Faker. Generation is NOT reproducible bit for bit even with the seed: runs of this script
in the same venv gave different files (same counts, different sentences). So the output is frozen and
committed, and tests never regenerate it.

Each output line: {"text": ..., "spans": [{"type": ..., "start": ..., "end": ...}]}, with the
generator's own entity type names (see `veil.evaluation.GOLD_TYPES` for how they map to Veil's).
Every span is checked: `text[start:end]` must equal the generator's `entity_value`. With
`lower_case_ratio` the generator lowercases some whole sentences but not the recorded values, so a span
whose text equals its value up to case has correct offsets and is kept (counted as "lowercased"). Any
other mismatch is repaired when the value occurs exactly once in the text, and dropped otherwise. The
counts are printed to stderr; the frozen file's run printed:
    presidio-evaluator 0.3.2, Faker 40.63.0: 3000 samples, 5599 spans, 187 lowercased, 0 repaired, 0 dropped
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path

from presidio_evaluator.data_generator import PresidioSentenceFaker

SEED = 42
SAMPLES = 3000


def main(out: Path) -> None:
    faker = PresidioSentenceFaker(locale="en_US", lower_case_ratio=0.05, random_seed=SEED)
    samples = faker.generate_new_fake_sentences(SAMPLES)
    checked = lowercased = repaired = dropped = 0
    lines = []
    for sample in samples:
        text = sample.full_text
        spans = []
        for span in sample.spans:
            checked += 1
            start, end = span.start_position, span.end_position
            if text[start:end] != span.entity_value:
                if text[start:end].lower() == span.entity_value.lower():
                    lowercased += 1
                elif text.count(span.entity_value) == 1:
                    start = text.index(span.entity_value)
                    end = start + len(span.entity_value)
                    repaired += 1
                else:
                    dropped += 1
                    continue
            spans.append({"type": span.entity_type, "start": start, "end": end})
        spans.sort(key=lambda item: (item["start"], item["end"]))
        lines.append(json.dumps({"text": text, "spans": spans}, ensure_ascii=False))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(
        f"presidio-evaluator {version('presidio-evaluator')}, Faker {version('faker')}: "
        f"{len(lines)} samples, {checked} spans, {lowercased} lowercased, "
        f"{repaired} repaired, {dropped} dropped",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
