"""`make bench-peers`: one run, every target against the same fake upstream and the same texts.

python -m bench.peers            # full run (~12 min), prints tables, updates docs/benchmarks.md
python -m bench.peers --quick    # a smoke run with few samples (~5 min); writes nothing
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from rich.console import Console

from bench import latency as bench_latency
from bench import quality
from bench.corpus import EMAILS, pii_prompt
from bench.peers import exposure, leak, load, memory, report
from bench.peers.latency import rounds
from bench.peers.servers import ROOT, RecordingUpstream, Server, free_port, presidio_service
from bench.peers.targets import DIRECT, GATEWAYS, MASKING, VEIL_NER, VEIL_RULES, Target, start
from bench.personal import personal_prompt
from bench.presidio_peer import PresidioPeer
from bench.report import Section, print_sections
from bench.tiers import NER, RULES, analyzer
from veil.evaluation import Sample

DOC = ROOT / "docs" / "benchmarks.md"
LEAK_OUT = ROOT / "bench-output" / "peers-leak"
COMMAND = "make bench-peers  # = .venv/bin/python -m bench.peers"
CONCURRENCY = (16, 64)
# The load phase's prompts: seeds far from the latency rounds', so no prompt is sent twice.
LOAD_SEEDS = 1_000_000


@dataclass(frozen=True)
class Profile:
    rounds: int
    warmup: int
    load_slices: int
    slice_seconds: float
    stride: int
    quality_samples: int | None
    full_leak: bool


FULL = Profile(
    rounds=200, warmup=20, load_slices=3, slice_seconds=10 / 3, stride=8, quality_samples=None, full_leak=True
)
QUICK = Profile(
    rounds=20, warmup=3, load_slices=2, slice_seconds=1.0, stride=60, quality_samples=300, full_leak=False
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few samples, for a smoke test; writes nothing")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args()
    profile = QUICK if args.quick else FULL
    console = Console()
    started = time.perf_counter()
    load_before = os.getloadavg()[1]
    master_key = "sk-bench-" + secrets.token_hex(16)
    samples = quality.corpus()

    with RecordingUpstream() as upstream, presidio_service() as presidio:
        sections = _side_by_side(console, profile, upstream, presidio, master_key, samples[:: profile.stride])
        leaks = _leaks(console, master_key, presidio, full=profile.full_leak)
    sections.insert(1, report.leak_section(leaks, full=profile.full_leak))
    sections.append(_quality(console, samples[: profile.quality_samples]))
    sections.append(report.not_run_section())

    print_sections(console, sections)
    took = time.perf_counter() - started
    context = (
        f"took {took / 60:.0f} min; the machine's 5-minute load average was {load_before:.1f} "
        f"when it started and {os.getloadavg()[1]:.1f} when it ended (2 cores)"
    )
    console.print(context)
    if not (args.quick or args.no_write):
        report.write(DOC, report.markdown(sections, COMMAND, context), METHOD)
        console.print(f"updated {DOC}")


def _side_by_side(
    console: Console,
    profile: Profile,
    upstream: RecordingUpstream,
    presidio: Server,
    master_key: str,
    subset: list[Sample],
) -> list[Section]:
    """Every gateway up at once on the recording upstream: latency, load, end to end, memory."""
    headers = {"authorization": f"Bearer {master_key}", "content-type": "application/json"}
    with contextlib.ExitStack() as stack, bench_latency.client() as http:
        targets = {DIRECT: Target(DIRECT, upstream.url, ())}
        for name in GATEWAYS:
            console.log(f"starting {name}")
            targets[name] = start(name, stack, upstream.url, master_key, presidio)
        _check_masking(http, targets, upstream.url, headers)
        urls = {name: target.url for name, target in targets.items()}

        console.log(f"latency: {profile.rounds} rounds of a new 1 KB prompt")
        fresh = rounds(
            http,
            urls,
            lambda i: bench_latency.chat_body(personal_prompt(1024, seed=i)),
            headers,
            count=profile.rounds,
            warmup=profile.warmup,
        )
        # The cached case varies less: half as many rounds.
        console.log(f"latency: {profile.rounds // 2} rounds of the same 1 KB prompt")
        same_body = bench_latency.chat_body(pii_prompt(1024))
        same = rounds(
            http, urls, lambda i: same_body, headers, count=profile.rounds // 2, warmup=profile.warmup
        )

        loads = _loads(console, urls, headers, profile)

        exposures: dict[str, exposure.Exposure] = {}
        for name in (DIRECT, *MASKING):
            console.log(f"end to end: {len(subset)} corpus samples through {name}")
            exposures[name] = exposure.exposure(http, urls[name], upstream.url, subset, headers)
        peak = {name: memory.peak_rss_of_ports(targets[name].ports) for name in GATEWAYS}
    return [
        report.speed_section(fresh, same, loads, peak, profile.load_slices * profile.slice_seconds),
        report.exposure_section(exposures, subset, profile.stride),
    ]


def _check_masking(
    http: httpx.Client, targets: Mapping[str, Target], upstream: str, headers: Mapping[str, str]
) -> None:
    """Every masking gateway must keep the prompt's emails from the upstream, or its figures mean nothing."""
    body = bench_latency.chat_body(pii_prompt(1024))
    for name, target in targets.items():
        bench_latency.check(http.post(target.url + bench_latency.CHAT, content=body, headers=headers), name)
        sent = json.dumps(json.loads(http.get(upstream + "/recorded").content))
        leaked = any(email in sent for email in EMAILS)
        if leaked == (name in MASKING):
            raise RuntimeError(f"{name}: emails {'reached' if leaked else 'did not reach'} the upstream")


def _loads(
    console: Console, urls: Mapping[str, str], headers: Mapping[str, str], profile: Profile
) -> dict[str, list[load.Throughput]]:
    """Per concurrency level, every target in turn for one slice, rotating, `load_slices` times:
    machine noise (other jobs on the 2 cores) falls on all targets alike. A short unmeasured
    slice warms each target's connections first."""
    results: dict[str, list[load.Throughput]] = {name: [] for name in urls}
    seeds = iter(range(LOAD_SEEDS, 10 * LOAD_SEEDS, LOAD_SEEDS // 100))
    for clients in CONCURRENCY:
        console.log(f"load: {clients} clients, {profile.load_slices} slices of {profile.slice_seconds:.1f} s")
        slices: dict[str, list[load.Throughput]] = {name: [] for name in urls}
        for round_ in range(-1, profile.load_slices):
            for name, url in bench_latency.rotation(max(round_, 0), urls):
                base = next(seeds)
                run = load.throughput(
                    url,
                    lambda i, base=base: bench_latency.chat_body(personal_prompt(1024, seed=base + i)),
                    headers,
                    concurrency=clients,
                    seconds=profile.slice_seconds if round_ >= 0 else 0.5,
                )
                if round_ >= 0:
                    slices[name].append(run)
        for name, runs in slices.items():
            results[name].append(load.combined(runs))
    return results


def _leaks(console: Console, master_key: str, presidio: Server, *, full: bool) -> dict[str, leak.LeakResult]:
    """The harness against no gateway and each masking gateway, each started afresh with the
    harness's capture as its upstream. LiteLLM without its guardrail masks nothing by design."""
    shutil.rmtree(LEAK_OUT, ignore_errors=True)
    LEAK_OUT.mkdir(parents=True)
    results: dict[str, leak.LeakResult] = {}
    for index, name in enumerate((DIRECT, *MASKING)):
        console.log(f"pii-leak-benchmark-v2: {name}")
        capture = free_port()
        with contextlib.ExitStack() as stack:
            url = f"http://127.0.0.1:{capture}"
            if name != DIRECT:
                url = start(name, stack, url, master_key, presidio).url
            results[name] = leak.run(f"target{index}", url, capture, LEAK_OUT, master_key, full=full)
    return results


def _quality(console: Console, samples: list[Sample]) -> Section:
    console.log(f"detection quality in process on {len(samples)} samples")
    reports = quality.reports(
        {VEIL_RULES: analyzer(RULES), VEIL_NER: analyzer(NER), "Presidio": PresidioPeer()}, samples
    )
    return report.quality_section(reports, samples)


METHOD = """## Side by side with peers

`make bench-peers` (`bench/peers/`) measures Veil next to what people put in front of the OpenAI
API, in one run on this machine: no gateway, Veil in both tiers, Presidio's analyzer and anonymizer
per request in a minimal proxy, LiteLLM's proxy alone and with its Presidio guardrail. Every target
is its own process on loopback in front of the same fake upstream (`bench/upstream.py`, which
`bench/peers/upstream.py` extends to keep the last body it received and to quote a message back),
and every target gets the same texts:

- latency: interleaved rounds, each sending the same new ~1 KB prompt to every target in rotating
  order, and the added p50/p99 against the direct call of the same rounds;
- throughput: 16 and 64 concurrent clients, each target in turn for a slice of a few seconds,
  rotating, three slices each; requests/s and errors;
- memory: the peak RSS (VmHWM) of each target's own processes after the above;
- leaks: `pii-leak-benchmark-v2` (the `dev` extra) against each masking target, started afresh with
  the harness's capture as its upstream, every two-part split and the partial-emission pass;
- detection quality on the frozen corpus `tests/data/presidio_corpus.jsonl`: end to end (which gold
  values reached the upstream through each target, and whether a reply quoting the prompt came back
  as sent) and in process (`bench/quality.py`, as `make bench`).

LiteLLM (pinned with its dependencies in `requirements/peers.txt`) is installed by the make target
into `.venv-peers`, so Veil's `.venv` is untouched. LiteLLM's guardrail calls Presidio's analyzer
and anonymizer HTTP services, which it documents as Presidio's two Docker images; here
`bench/peers/presidio_service.py` serves the same two routes around the same engines on loopback.
Presidio runs from `.venv` (the `bench` extra) on the same en_core_web_sm folder as Veil. Nothing is
downloaded at run time. LLM Guard could not run here: see the last table. The machine has 2 cores,
shared with the load client and with other jobs, so compare figures within one run, not across runs.

Reproduce: `make bench-peers` (10 to 15 minutes, depending on what else the machine runs;
`make bench-peers ARGS=--quick` for a smoke run of about 5 minutes that writes nothing). The figures
between the markers below are rewritten by each run; the text around them is not.
"""
