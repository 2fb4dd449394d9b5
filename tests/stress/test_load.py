"""Load: many streaming conversations at once through a real `veil serve`, on loopback.

Each of `conversations` clients holds one conversation after another for the run's length,
every one with its own user id and its own values (an e-mail per turn, a phone number, an
IP address, a card number), four turns each, re-sending the history as apps do; three turns
of four stream, one is answered whole. The upstream is `upstream_process` in a process of
its own: it echoes the last user message back in 4-character deltas spaced 2 ms apart.

Asserted: not one error (every reply 200, every stream ends with [DONE], no error event);
every reply is exactly the client's own text, so no value ever crosses into another
conversation and no token is left unrestored; the upstream got every request, only under
its base path, and never one of the values or user ids, only tokens; Veil's resident
memory levels off (the last third of the run peaks at most `rss_growth` above the first).
Throughput is written to the terminal.

The normal suite runs a short profile; `make stress` (`pytest -m stress`) the full one:
200 conversations for 60 s.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from stress.rss import Plateau, RssSampler
from stress.upstream_process import UpstreamProcess
from veil_process import VeilProcess, running

TURNS = 4
WHOLE_TURN = 2  # the one turn of each conversation answered whole, not streamed
MODEL = "paced-2"
UPSTREAM_KEY = "sk-upstream-load-K9d2"
# Everything a client sends that must never reach the upstream: the values and the user ids.
FORBIDDEN = r"@example\.com|415-555-\d|203\.0\.113\.|4000 \d{4} \d{4}|load-user-"
EMAIL = re.compile(r"[\w.]+@example\.com")


@dataclass(frozen=True)
class LoadProfile:
    conversations: int
    seconds: float
    # How far the last third's RSS peak may rise above the first third's.
    rss_growth: float


SHORT = LoadProfile(conversations=50, seconds=8.0, rss_growth=0.25)
FULL = LoadProfile(conversations=200, seconds=60.0, rss_growth=0.10)


@dataclass
class Tally:
    requests: int = 0
    streams: int = 0
    conversations: int = 0
    deltas: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)

    def fail(self, kind: str, detail: str) -> None:
        self.errors.append(f"{kind}: {detail}"[:300])


def card_number(n: int) -> str:
    """A Luhn-valid Visa-like number, unique per `n`, in groups of four."""
    digits = [int(d) for d in f"4000{n:011d}"]
    total = 0
    for i, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if i % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    number = "".join(map(str, digits)) + str((10 - total % 10) % 10)
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def said(conversation: int, turn: int) -> str:
    return (
        f"Turn {turn}: write to c{conversation}.t{turn}@example.com"
        f" or call +1 415-555-{conversation % 10_000:04d}; the server is 203.0.113.{conversation % 256}"
        f" and the card {card_number(conversation)}."
    )


async def converse(http: httpx.AsyncClient, numbers: Iterator[int], deadline: float, tally: Tally) -> None:
    """Conversations one after another until `deadline`; a turn is never cut short."""
    while time.monotonic() < deadline:
        conversation = next(numbers)
        history: list[dict[str, str]] = []
        for turn in range(TURNS):
            if time.monotonic() >= deadline:
                return
            content = said(conversation, turn)
            history.append({"role": "user", "content": content})
            stream = turn != WHOLE_TURN
            body = {
                "model": MODEL,
                "messages": history,
                "user": f"load-user-{conversation}",
                "stream": stream,
            }
            started = time.perf_counter()
            try:
                reply = await (_streamed(http, body, tally) if stream else _whole(http, body, tally))
            except httpx.HTTPError as error:
                when = time.monotonic() - deadline
                tally.fail("transport", f"{error!r} ({error.__context__!r}), {when:+.1f} s from the end")
                return
            if reply is None:
                return
            tally.latencies.append(time.perf_counter() - started)
            tally.requests += 1
            tally.streams += stream
            expected = f"You said: {content}"
            if reply != expected:
                foreign = set(EMAIL.findall(reply)) - set(EMAIL.findall(expected))
                if foreign:
                    tally.crossed.append(f"conversation {conversation} got {sorted(foreign)}")
                tally.fail("reply", f"conversation {conversation} turn {turn}: {reply!r}")
                return
            history.append({"role": "assistant", "content": reply})
        tally.conversations += 1


async def _whole(http: httpx.AsyncClient, body: dict[str, Any], tally: Tally) -> str | None:
    response = await http.post("/v1/chat/completions", json=body)
    if response.status_code != 200:
        tally.fail("status", f"{response.status_code} {response.text}")
        return None
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


async def _streamed(http: httpx.AsyncClient, body: dict[str, Any], tally: Tally) -> str | None:
    parts: list[str] = []
    done = False
    async with http.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            tally.fail("status", f"{response.status_code} {(await response.aread())!r}")
            return None
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            data = line.removeprefix("data: ")
            if data == "[DONE]":
                done = True
                continue
            event = json.loads(data)
            if "error" in event:
                tally.fail("error event", data)
                return None
            for choice in event["choices"]:
                parts.append(choice["delta"].get("content") or "")
            tally.deltas += 1
    if not done:
        tally.fail("stream", "ended without [DONE]")
        return None
    return "".join(parts)


async def load(url: str, profile: LoadProfile) -> tuple[Tally, float]:
    tally = Tally()
    numbers = itertools.count()
    limits = httpx.Limits(
        max_connections=profile.conversations, max_keepalive_connections=profile.conversations
    )
    async with httpx.AsyncClient(
        base_url=url, limits=limits, timeout=60, headers={"authorization": "Bearer sk-client-load"}
    ) as http:
        began = time.monotonic()
        deadline = began + profile.seconds
        await asyncio.gather(
            *(converse(http, numbers, deadline, tally) for _ in range(profile.conversations))
        )
        elapsed = time.monotonic() - began
    return tally, elapsed


class HealthProbe:
    """Asks /healthz every 0.2 s on a thread of its own while the load runs: its slowest
    answer is about the longest the server's event loop was busy or blocked."""

    def __init__(self, url: str) -> None:
        self._url = url + "/healthz"
        self.slowest = 0.0
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with httpx.Client(timeout=30) as http:
            while not self._stop.wait(0.2):
                started = time.monotonic()
                try:
                    ok = http.get(self._url).status_code == 200
                except httpx.HTTPError:
                    ok = False
                self.failures += not ok
                self.slowest = max(self.slowest, time.monotonic() - started)


@dataclass
class Run:
    tally: Tally
    seconds: float
    memory: Plateau
    health: HealthProbe
    upstream: dict[str, Any]
    log: str

    def summary(self, profile: LoadProfile) -> str:
        tally, memory = self.tally, self.memory
        latencies = sorted(tally.latencies) or [0.0]
        return (
            f"load {profile.conversations} conversations x {profile.seconds:g} s: "
            f"{tally.requests / self.seconds:.1f} requests/s, {tally.streams / self.seconds:.1f} streams/s, "
            f"{tally.deltas / self.seconds:.0f} deltas/s, {tally.conversations} conversations completed; "
            f"latency p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, "
            f"p99 {latencies[int(len(latencies) * 0.99)] * 1000:.0f} ms; "
            f"slowest /healthz {self.health.slowest * 1000:.0f} ms; "
            f"RSS first third {memory.first_max:.1f} MiB, last third {memory.last_max:.1f} MiB "
            f"({memory.growth:+.1%}), peak {memory.peak:.1f} MiB over {memory.samples} samples"
        )


def run_load(workdir: Path, profile: LoadProfile) -> Run:
    with UpstreamProcess(forbid=FORBIDDEN) as upstream:
        env = {
            "VEIL_UPSTREAM_BASE_URL": upstream.url,
            "VEIL_UPSTREAM_API_KEY": UPSTREAM_KEY,
        }
        veil = VeilProcess(workdir, env)
        with running(veil), RssSampler(veil.pid) as rss, HealthProbe(veil.url) as health:
            tally, seconds = asyncio.run(load(veil.url, profile))
        return Run(tally, seconds, rss.plateau(), health, upstream.stats(), veil.log()[-3000:])


def check(profile: LoadProfile, workdir: Path, report: Any) -> None:
    run = run_load(workdir, profile)
    report(run.summary(profile))
    tally, seen = run.tally, run.upstream
    assert not tally.crossed, tally.crossed[:5]
    assert not tally.errors, f"{len(tally.errors)} errors, the first: {tally.errors[:5]}\n{run.log}"
    assert run.health.failures == 0, run.log
    assert tally.requests >= profile.conversations * 2, "the load hardly ran"
    assert tally.conversations >= profile.conversations // 2, "few conversations reached their last turn"
    assert seen["requests"] == tally.requests
    assert seen["outside_base"] == {}
    assert seen["forbidden_bodies"] == 0, seen["forbidden_samples"]
    assert seen["keys"] == {f"Bearer {UPSTREAM_KEY}": tally.requests}
    # Every user message of every request went as four tokens (history included).
    assert seen["tokens_seen"] >= 4 * tally.requests
    assert run.memory.growth <= profile.rss_growth, run.memory


@pytest.fixture
def report(capsys: pytest.CaptureFixture[str]) -> Any:
    """Writes a line to the terminal, past pytest's capture: the figures show in every run."""

    def write(line: str) -> None:
        with capsys.disabled():
            print(f"\n{line}")

    return write


def test_short_load_no_errors_no_crossing_bounded_memory(tmp_path: Path, report: Any) -> None:
    check(SHORT, tmp_path, report)


@pytest.mark.stress
def test_200_streaming_conversations_for_60_seconds(tmp_path: Path, report: Any) -> None:
    check(FULL, tmp_path, report)
