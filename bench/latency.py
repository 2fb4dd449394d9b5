"""Loopback HTTP timings, direct to the fake upstream and through each Veil, interleaved.

Requests are sequential on one keep-alive httpx client. Each round sends the same body to
every target (direct, and one Veil server per tier), rotating which goes first, so drift
in machine load hits all of them alike.
"""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

CHAT = "/v1/chat/completions"
HEADERS = {"authorization": "Bearer sk-bench-client", "content-type": "application/json"}

DIRECT = "direct"
_DETECTION_SUM = "veil_request_detection_seconds_sum "

# Seconds per request (or per stream), round by round, by target name (DIRECT, a tier).
Timings = dict[str, list[float]]


@dataclass
class RequestTimings:
    """Each target's request latency; for each Veil, also the seconds it spent finding and
    replacing values in that request, by its own `veil_request_detection_seconds` histogram."""

    seconds: Timings
    detection: Timings

    @classmethod
    def empty(cls, targets: Mapping[str, str]) -> RequestTimings:
        return cls({name: [] for name in targets}, {name: [] for name in targets if name != DIRECT})


@dataclass
class StreamTimings:
    """One target's streams: time to the first content delta, to the end, and events seen."""

    first_token: list[float] = field(default_factory=list)
    total: list[float] = field(default_factory=list)
    events: int = 0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile, q in [0, 100]."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def client() -> httpx.Client:
    # Nagle off on the client too, so neither side of a request waits on a delayed ACK.
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(transport=transport, timeout=30)


def chat_body(prompt: str, *, stream: bool = False, model: str = "gpt-4o-mini") -> bytes:
    body: dict[str, object] = {
        "model": model,
        "messages": [
            {"role": "system", "content": "You are a helpful support assistant."},
            {"role": "user", "content": prompt},
        ],
    }
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def requests(
    http: httpx.Client,
    targets: Mapping[str, str],
    body_for: Callable[[int], bytes],
    *,
    count: int,
    warmup: int,
) -> RequestTimings:
    """Whole (non-streamed) request latency for each target (name -> base URL)."""
    samples = RequestTimings.empty(targets)
    for round_ in range(warmup + count):
        body = body_for(round_)
        for name, base in rotation(round_, targets):
            response = post(http, name, base, body, samples if round_ >= warmup else None)
            check(response, name)
    return samples


def post(
    http: httpx.Client, name: str, base: str, body: bytes, samples: RequestTimings | None
) -> httpx.Response:
    """One timed chat request; its figures go into `samples` unless that is None.

    A Veil's detection time is read from its /metrics before and after, outside the clock.
    """
    veil = name != DIRECT and samples is not None
    before = detection_seconds(http, base) if veil else 0.0
    started = time.perf_counter()
    response = http.post(base + CHAT, content=body, headers=HEADERS)
    elapsed = time.perf_counter() - started
    if samples is not None:
        samples.seconds[name].append(elapsed)
        if veil:
            samples.detection[name].append(detection_seconds(http, base) - before)
    return response


def detection_seconds(http: httpx.Client, base: str) -> float:
    """The running total of a Veil's `veil_request_detection_seconds` histogram."""
    for line in http.get(base + "/metrics").text.splitlines():
        if line.startswith(_DETECTION_SUM):
            return float(line.removeprefix(_DETECTION_SUM))
    raise RuntimeError(f"{base}/metrics has no veil_request_detection_seconds")


def streams(
    http: httpx.Client, targets: Mapping[str, str], body: bytes, *, count: int, warmup: int
) -> dict[str, StreamTimings]:
    """Time to the first non-empty content delta, and to the end of the stream."""
    samples = {name: StreamTimings() for name in targets}
    for round_ in range(warmup + count):
        for name, base in rotation(round_, targets):
            first, total, events = _stream_once(http, base + CHAT, body, name)
            if round_ < warmup:
                continue
            samples[name].first_token.append(first)
            samples[name].total.append(total)
            samples[name].events = events
    return samples


def _stream_once(http: httpx.Client, url: str, body: bytes, name: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = None
    events = 0
    with http.stream("POST", url, content=body, headers=HEADERS) as response:
        check(response, name)
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            events += 1
            if first is None:
                choices = json.loads(line[6:]).get("choices") or [{}]
                if (choices[0].get("delta") or {}).get("content"):
                    first = time.perf_counter() - started
    total = time.perf_counter() - started
    if first is None:
        raise RuntimeError(f"{name}: the stream carried no content")
    return first, total, events


def rotation(round_: int, targets: Mapping[str, str]) -> list[tuple[str, str]]:
    """The targets, rotated by one each round, so each goes first equally often."""
    pairs = list(targets.items())
    shift = round_ % len(pairs)
    return pairs[shift:] + pairs[:shift]


def check(response: httpx.Response, name: str) -> None:
    if response.status_code != 200:
        response.read()
        raise RuntimeError(f"{name}: HTTP {response.status_code}: {response.text[:200]}")
