"""Loopback HTTP timings, direct to the fake upstream and through Veil, interleaved.

Requests are sequential on one keep-alive httpx client. Each round sends the same body
both ways, alternating which goes first, so drift in machine load hits both sides alike.
"""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

CHAT = "/v1/chat/completions"
HEADERS = {"authorization": "Bearer sk-bench-client", "content-type": "application/json"}


@dataclass
class Paired:
    """Seconds per request (or per stream), direct and via Veil, round by round."""

    direct: list[float] = field(default_factory=list)
    veil: list[float] = field(default_factory=list)


@dataclass
class StreamPaired:
    first_token: Paired = field(default_factory=Paired)
    total: Paired = field(default_factory=Paired)
    events_direct: int = 0
    events_veil: int = 0


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
    http: httpx.Client, direct: str, veil: str, body_for: Callable[[int], bytes], *, count: int, warmup: int
) -> Paired:
    """Whole (non-streamed) request latency."""
    samples = Paired()
    for round_ in range(warmup + count):
        body = body_for(round_)
        timings = {}
        for name, base in _order(round_, direct, veil):
            started = time.perf_counter()
            response = http.post(base + CHAT, content=body, headers=HEADERS)
            timings[name] = time.perf_counter() - started
            _check(response, name)
        if round_ >= warmup:
            samples.direct.append(timings["direct"])
            samples.veil.append(timings["veil"])
    return samples


def streams(
    http: httpx.Client, direct: str, veil: str, body: bytes, *, count: int, warmup: int
) -> StreamPaired:
    """Time to the first non-empty content delta, and to the end of the stream."""
    samples = StreamPaired()
    for round_ in range(warmup + count):
        for name, base in _order(round_, direct, veil):
            first, total, events = _stream_once(http, base + CHAT, body, name)
            if round_ < warmup:
                continue
            getattr(samples.first_token, name).append(first)
            getattr(samples.total, name).append(total)
            if name == "direct":
                samples.events_direct = events
            else:
                samples.events_veil = events
    return samples


def _stream_once(http: httpx.Client, url: str, body: bytes, name: str) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = None
    events = 0
    with http.stream("POST", url, content=body, headers=HEADERS) as response:
        _check(response, name)
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


def _order(round_: int, direct: str, veil: str) -> list[tuple[str, str]]:
    pairs = [("direct", direct), ("veil", veil)]
    return pairs if round_ % 2 == 0 else pairs[::-1]


def _check(response: httpx.Response, name: str) -> None:
    if response.status_code != 200:
        response.read()
        raise RuntimeError(f"{name}: HTTP {response.status_code}: {response.text[:200]}")
