"""`make bench`: Veil's added latency and per-delta cost, measured side by side with direct calls.

python -m bench.run            # full run, prints tables, updates docs/benchmarks.md
python -m bench.run --quick    # a smoke run with few samples; writes nothing
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import httpx
from rich.console import Console

from bench import latency, micro
from bench.corpus import pii_prompt
from bench.processes import FakeUpstream, VeilServer
from bench.report import Section, markdown, print_sections, write
from bench.upstream import PACED_DELTAS, STREAM_DELTAS

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
COMMAND = "make bench  # = .venv/bin/python -m bench.run"
ADDED_P50_TARGET_MS = 1.0
PER_DELTA_TARGET_US = 5.0
PACE_MS = 10


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few samples, for a smoke test; writes nothing")
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    console = Console()
    started = time.perf_counter()

    sections = [*_http(console, scale), *_micro(console, scale)]
    print_sections(console, sections)
    console.print(f"bench took {time.perf_counter() - started:.0f} s")
    if not (args.quick or args.no_write):
        write(DOC, markdown(sections, COMMAND), _PREAMBLE)
        console.print(f"updated {DOC}")


def _http(console: Console, scale: float) -> list[Section]:
    count, warmup = max(20, int(300 * scale)), max(5, int(30 * scale))
    prompts = {size: pii_prompt(size) for size in (1024, 10240)}
    whole = Section(
        f"Added latency, whole replies ({count} requests each way, interleaved, after {warmup} warm-up)",
        ["prompt", "direct p50", "Veil p50", "added p50", "direct p99", "Veil p99", "added p99", "target"],
    )
    stream = Section(
        "Streaming through Veil",
        [
            "stream",
            "direct TTFT p50",
            "Veil TTFT p50",
            "added TTFT p50",
            "added TTFT p99",
            "direct total p50",
            "Veil total p50",
            "added per delta",
            "events direct / Veil",
        ],
    )
    with FakeUpstream() as upstream, VeilServer(upstream.url) as veil, latency.client() as http:
        console.print(f"fake upstream {upstream.url}, veil serve {veil.url}")
        _sanity_check(http, veil.url)
        cases = [
            (f"1 KB ({len(prompts[1024])} B, 6 values)", lambda i: latency.chat_body(prompts[1024]), True),
            (
                f"10 KB ({len(prompts[10240])} B, 52 values)",
                lambda i: latency.chat_body(prompts[10240]),
                False,
            ),
            ("1 KB, new values every request", lambda i: latency.chat_body(pii_prompt(1024, fresh=i)), False),
        ]
        for label, body_for, has_target in cases:
            console.print(f"requests: {label}")
            samples = latency.requests(http, upstream.url, veil.url, body_for, count=count, warmup=warmup)
            whole.rows.append(_latency_row(label, samples, has_target))

        console.print(f"streams: {STREAM_DELTAS} deltas, sent back to back")
        burst = latency.streams(
            http,
            upstream.url,
            veil.url,
            latency.chat_body(prompts[1024], stream=True),
            count=max(10, int(200 * scale)),
            warmup=max(3, int(10 * scale)),
        )
        stream.rows.append(_stream_row(f"{STREAM_DELTAS} deltas, back to back", burst, STREAM_DELTAS))
        console.print(f"streams: {PACED_DELTAS} deltas, {PACE_MS} ms apart")
        paced = latency.streams(
            http,
            upstream.url,
            veil.url,
            latency.chat_body(prompts[1024], stream=True, model=f"paced-{PACE_MS}"),
            count=max(5, int(50 * scale)),
            warmup=2,
        )
        stream.rows.append(_stream_row(f"{PACED_DELTAS} deltas, {PACE_MS} ms apart", paced, None))
    whole.note = (
        "Each request is a system message plus a user prompt of prose with emails, phone numbers and card "
        "numbers mixed in; the fake upstream answers a fixed ~90-character completion holding two tokens. "
        "Veil runs `veil serve` with its defaults (SQLite vault, INFO log line per request)."
    )
    stream.note = (
        "TTFT is the time from sending the request to the first non-empty content delta at the client. "
        "'Added per delta' is (Veil total - direct total) / deltas, for the back-to-back stream."
    )
    return [whole, stream]


def _sanity_check(http: httpx.Client, veil: str) -> None:
    """Veil must really be pseudonymizing and restoring, or the figures mean nothing."""
    reply = http.post(
        veil + latency.CHAT, content=latency.chat_body(pii_prompt(1024)), headers=latency.HEADERS
    )
    redactions = reply.headers.get("x-veil-redactions", "none")
    content = json.loads(reply.content)["choices"][0]["message"]["content"]
    if reply.status_code != 200 or redactions == "none" or "<EMAIL_ADDRESS_1>" in content:
        raise RuntimeError(f"Veil did not pseudonymize/restore as expected: {reply.status_code} {redactions}")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def _latency_row(label: str, samples: latency.Paired, has_target: bool) -> list[str]:
    p = latency.percentile
    added50 = p(samples.veil, 50) - p(samples.direct, 50)
    added99 = p(samples.veil, 99) - p(samples.direct, 99)
    target = ""
    if has_target:
        verdict = "met" if added50 * 1000 <= ADDED_P50_TARGET_MS else "MISSED"
        target = f"≤ {ADDED_P50_TARGET_MS:g} ms p50: {verdict}"
    return [
        label,
        _ms(p(samples.direct, 50)),
        _ms(p(samples.veil, 50)),
        _ms(added50),
        _ms(p(samples.direct, 99)),
        _ms(p(samples.veil, 99)),
        _ms(added99),
        target,
    ]


def _stream_row(label: str, samples: latency.StreamPaired, deltas: int | None) -> list[str]:
    """`deltas` None: the stream is paced, so its total says nothing about per-delta work."""
    p = latency.percentile
    first, total = samples.first_token, samples.total
    per_delta = "—"
    if deltas:
        per_delta = f"{(p(total.veil, 50) - p(total.direct, 50)) / deltas * 1e6:.0f} µs"
    return [
        label,
        _ms(p(first.direct, 50)),
        _ms(p(first.veil, 50)),
        _ms(p(first.veil, 50) - p(first.direct, 50)),
        _ms(p(first.veil, 99) - p(first.direct, 99)),
        _ms(p(total.direct, 50)),
        _ms(p(total.veil, 50)),
        per_delta,
        f"{samples.events_direct} / {samples.events_veil}",
    ]


def _micro(console: Console, scale: float) -> list[Section]:
    console.print("detection and per-delta costs (in process)")
    detection = Section(
        "Detection cost: Analyzer(default_detectors()).analyze", ["text", "µs per KB, median (best)"]
    )
    for size, calls in ((1024, 200), (10240, 20)):
        for with_pii in (False, True):
            cost = micro.detection_us_per_kb(size, with_pii, max(5, int(calls * scale)))
            label = f"{size // 1024} KB {'prose with PII (~5 values/KB)' if with_pii else 'prose, no PII'}"
            detection.rows.append([label, f"{cost.median:.0f} (best {cost.best:.0f})"])
    detection.note = f"Median and best of {micro.REPEATS} batches; rule detectors only (no NER model)."

    per_delta = Section(
        "Cost per streamed delta (word-sized deltas, in process)",
        ["step", "deltas", "µs per delta, median (best)", "target (on the median)"],
    )
    for name, deltas in micro.delta_sets(max(200, int(2000 * scale))).items():
        rewrite = micro.rewrite_us_per_delta(deltas)
        feed = micro.text_filter_us_per_delta(deltas)
        floor = micro.json_floor_us_per_delta(deltas)
        verdict = "met" if rewrite.median <= PER_DELTA_TARGET_US else "MISSED"
        per_delta.rows += [
            [
                "ChatStreamRewriter.rewrite(payload)",
                name,
                str(rewrite),
                f"≤ {PER_DELTA_TARGET_US:g} µs: {verdict}",
            ],
            ["reply.channel(False).feed(word) alone", name, str(feed), ""],
            ["orjson.loads + orjson.dumps of the payload (floor)", name, str(floor), ""],
        ]
    per_delta.note = (
        "A fresh rewriter per stream of deltas (set-up not timed); the guard and restorer see a "
        "MemoryVault holding the 1 KB prompt's values. 'reply with tokens and numbers' splits tokens "
        "the way tokenizers do (' <', 'EMAIL', '_ADDRESS', '_1>')."
    )
    return [detection, per_delta]


_PREAMBLE = """# Benchmarks

What Veil costs on top of a direct call to the provider, measured by `make bench`
(`bench/run.py`). The figures below are rewritten by each run; the text around them is not.

## Method

- A fake upstream (`bench/upstream.py`): raw asyncio HTTP/1.1 on loopback, TCP_NODELAY on every
  accepted socket, answering a fixed small completion or an SSE stream of word-sized deltas.
- Veil as users run it: `veil serve` in its own process, with `VEIL_UPSTREAM_BASE_URL` pointed at
  the fake and `VEIL_DATA_DIR` in a temp dir (SQLite vault, default settings).
- The client: one keep-alive `httpx.Client`, sequential requests. Every round sends the same body
  direct and through Veil, alternating which goes first, so machine noise hits both sides.
- Added latency = Veil's percentile minus the direct percentile (both from the same run).
- Micro-benchmarks run in process: the median and the best of 11 timed
  batches after a warm-up (other processes only add time, so the best is the code's own cost).

Targets: at most 1 ms added at p50 for a 1 KB prompt; at most 5 µs of work per streamed delta.

## Results
"""


if __name__ == "__main__":
    main()
