"""Added latency: the same request to every target in each round, in rotating order.

One keep-alive client, sequential requests, as `bench.latency` measures Veil alone; here the
targets are any OpenAI-compatible URLs, so no target's own metrics are read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import httpx

from bench.latency import CHAT, check, rotation


def rounds(
    http: httpx.Client,
    targets: Mapping[str, str],
    body_for: Callable[[int], bytes],
    headers: Mapping[str, str],
    *,
    count: int,
    warmup: int,
) -> dict[str, list[float]]:
    """Seconds per whole (non-streamed) request, by target name, after `warmup` rounds."""
    seconds: dict[str, list[float]] = {name: [] for name in targets}
    for round_ in range(warmup + count):
        body = body_for(round_)
        for name, base in rotation(round_, targets):
            started = time.perf_counter()
            response = http.post(base + CHAT, content=body, headers=headers)
            elapsed = time.perf_counter() - started
            check(response, name)
            if round_ >= warmup:
                seconds[name].append(elapsed)
    return seconds
