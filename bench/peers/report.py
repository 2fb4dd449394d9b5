"""The peers tables, and their block in docs/benchmarks.md.

`make bench-peers` owns only the lines between its two markers (the `bench:results` block
belongs to `make bench`). When the markers are missing, the section is appended whole: its
heading, the method (`METHOD`) and the block.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from bench.latency import percentile
from bench.peers.exposure import ROWS as EXPOSURE_ROWS
from bench.peers.exposure import Exposure
from bench.peers.leak import LeakResult
from bench.peers.load import Throughput
from bench.peers.servers import LITELLM_VERSION
from bench.peers.targets import DIRECT, NOT_RUN, WHAT
from bench.report import Section, machine, section_markdown, software
from veil.evaluation import Report, Sample, Score

START = "<!-- bench-peers:start -->"
END = "<!-- bench-peers:end -->"
QUALITY_ROWS = ("PERSON", "LOCATION", "STREET_ADDRESS", "ORGANIZATION", "NRP", "structured", "all targeted")


def speed_section(
    fresh: Mapping[str, list[float]],
    same: Mapping[str, list[float]],
    loads: Mapping[str, Sequence[Throughput]],
    peak_rss: Mapping[str, int],
    load_seconds: float,
) -> Section:
    section = Section(
        f"Latency, throughput, memory ({len(fresh[DIRECT])} interleaved rounds, {len(same[DIRECT])} with the "
        f"same prompt; about {load_seconds:.0f} s of load per target and level)",
        [
            "target",
            "p50",
            "added p50",
            "p99",
            "added p99",
            "added p50, same prompt again",
            *(f"req/s, {run.concurrency} clients" for run in loads[DIRECT]),
            "peak RSS",
        ],
    )
    p = percentile
    for name, times in fresh.items():
        direct = name == DIRECT
        section.rows.append(
            [
                name,
                _ms(p(times, 50)),
                "—" if direct else _ms(p(times, 50) - p(fresh[DIRECT], 50)),
                _ms(p(times, 99)),
                "—" if direct else _ms(p(times, 99) - p(fresh[DIRECT], 99)),
                "—" if direct else _ms(p(same[name], 50) - p(same[DIRECT], 50)),
                *(f"{run.per_second:.1f} ({run.errors} errors)" for run in loads[name]),
                "—" if direct else f"{peak_rss[name] / 2**20:.0f} MiB",
            ]
        )
    section.note = (
        "Added = the target's percentile minus the direct one from the same rounds. Each round sends one "
        "new ~1 KB prompt (`bench/personal.py`: people from many cultures, places, a street address, an "
        "email; never seen before, so no cache helps) to every target in rotating order; 'same prompt "
        "again' repeats one ~1 KB prompt of emails, phone numbers and card numbers (`bench/corpus.py`), "
        "which Veil answers from its detection cache. Throughput: that many concurrent clients, each "
        "sending a new prompt as soon as its last reply is read (`bench/peers/load.py`), every target in "
        "turn for one slice, rotating, the slices summed (requests in flight at a slice's end are awaited "
        "and counted); errors are non-200 replies and transport failures. Peak RSS is the kernel's "
        "high-water mark (VmHWM) of the target's own processes at the end of these measurements; for "
        "LiteLLM with the guardrail it adds the Presidio service it calls."
    )
    return section


def leak_section(results: Mapping[str, LeakResult], full: bool) -> Section:
    profile = "every two-part split, partial-emission pass" if full else "midpoint split only"
    section = Section(
        f"pii-leak-benchmark-v2 (0.6.0, seed 5eed0f5eed0f0001, 32 cases, {profile})",
        [
            "target",
            "outcome",
            "raw values that reached the upstream",
            "fidelity",
            "leak, whole value",
            "leak, split value",
            "stream passed through",
            "partial emission",
            "cases",
        ],
    )
    for name, result in results.items():
        section.rows.append(
            [
                name,
                result.outcome,
                ", ".join(result.request_path_leak) or "none",
                f"{result.fidelity:.3f}",
                f"{result.leak_single:.3f}",
                f"{result.leak_adversarial:.3f}",
                "yes" if result.fragmentation_passed else f"no (coalesced {result.coalescing_rate:.0%})",
                "—" if result.partial_emission is None else f"{result.partial_emission:.3f}",
                result.cases,
            ]
        )
    section.note = (
        "Each gateway that masks is started afresh with its upstream at the harness's capture port (LiteLLM "
        "without its guardrail masks nothing by design and is not run); no gateway = the harness sending to "
        "its own capture. Outcome, fidelity (echoed placeholders restored), leak rates "
        "(values the upstream makes up, whole or split across deltas, reaching the client) and 'raw values "
        "that reached the upstream' (the harness's request-path check over every captured body: chat and "
        "system content, tool descriptions, an unknown top-level key, plain and percent-encoded) are the "
        "harness's own. 'Stream passed through' is its fragmentation check: the client must see the "
        "upstream's one-character events as events, not one buffered reply. Fidelity 1.0 with raw values "
        "at the upstream means there was nothing to restore."
    )
    return section


def exposure_section(results: Mapping[str, Exposure], samples: Sequence[Sample], stride: int) -> Section:
    names = list(results)
    section = Section(
        f"Values kept from the upstream, end to end ({len(samples)} corpus samples sent through each target)",
        ["type", "gold values", *names],
    )
    first = results[names[0]]
    for label, types in EXPOSURE_ROWS:
        gold, _ = first.kept(types)
        section.rows.append([label, str(gold), *(_ratio(results[n].kept(types)[1]) for n in names)])
    section.rows.append(
        [
            "round trip: reply came back as sent",
            str(first.samples),
            *(_ratio(results[n].intact / results[n].samples if results[n].samples else None) for n in names),
        ]
    )
    section.note = (
        "Share of the gold values (of types Veil targets) whose text never reached the fake upstream: "
        f"each sample of tests/data/presidio_corpus.jsonl (every {stride}th) goes as one user message, and "
        "each gold value is looked for verbatim in the message text the upstream received "
        "(`bench/peers/exposure.py`). The same measure for every target, whatever its detector reports; "
        "values found but replaced wrongly count as reached. Direct checks the method (nothing kept). "
        "Round trip: the fake upstream answers with the user message exactly as it received it (model "
        "`mirror`), and the row is the share of samples whose reply the client got back identical to the "
        "sample it sent (a gateway that restores its placeholders, and changes nothing else, scores 1)."
    )
    return section


def quality_section(reports: Mapping[str, Report], samples: Sequence[Sample]) -> Section:
    section = Section(
        f"Detection quality in process ({len(samples)} samples of tests/data/presidio_corpus.jsonl)",
        ["type", "analyzer", "gold", "P", "R", "F1", "covered"],
    )
    for row in QUALITY_ROWS:
        for index, (name, report) in enumerate(reports.items()):
            score = _score(report, row)
            section.rows.append(
                [
                    row if index == 0 else "",
                    name,
                    str(score.gold) if index == 0 else "",
                    _ratio(score.precision),
                    _ratio(score.recall),
                    _ratio(score.f1),
                    _ratio(score.covered_recall),
                ]
            )
    section.note = (
        "Scored by `veil.evaluation` as in `make bench` (`bench/quality.py`): typed P/R/F1 on overlap, one "
        "to one; 'covered' = share of gold spans wholly inside some prediction of any type. Presidio is "
        "`bench/presidio_peer.py`: its default recognizers on the same en_core_web_sm, types mapped to "
        "Veil's. LiteLLM's guardrail sends Presidio's analyzer the same text with no entity list, so what "
        "it finds is the Presidio row; what then reaches the upstream is in the end-to-end table."
    )
    return section


def not_run_section() -> Section:
    section = Section("Peers that did not run here", ["peer", "why"])
    section.rows += [[name, why] for name, why in NOT_RUN.items()]
    return section


def markdown(sections: Sequence[Section], command: str, context: str) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        START,
        f"Measured {when} with `{command}`: the run {context}.",
        "",
        f"- Machine: {machine()}",
        f"- Software: {software()}; presidio-analyzer {version('presidio-analyzer')}, "
        f"LiteLLM {LITELLM_VERSION} (in .venv-peers), pii-leak-benchmark {version('pii-leak-benchmark')}",
        "",
        "What each target is:",
        "",
        *(f"- **{name}**: {what}" for name, what in WHAT.items()),
        "",
    ]
    for section in sections:
        lines += section_markdown(section)
    lines.append(END)
    return "\n".join(lines)


def write(path: Path, block: str, method: str) -> None:
    """Replace the peers block of `path`, or append the peers section with it."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if pattern.search(text):
        path.write_text(pattern.sub(lambda _: block, text, count=1), encoding="utf-8")
    else:
        path.write_text(text.rstrip() + "\n\n" + method.strip() + "\n\n" + block + "\n", encoding="utf-8")


def _score(report: Report, row: str) -> Score:
    if row == "structured":
        return report.structured
    if row == "all targeted":
        return report.total
    return report.by_type.get(row, Score(0, 0, 0, 0))


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
