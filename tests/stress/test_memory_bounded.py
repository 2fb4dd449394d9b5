"""Memory stays bounded under huge and hostile bodies: a real `veil serve` process gets
the same burst several times over (bodies over the size limit, declared and chunked; bodies
just under it, processed in full; invalid UTF-8, nesting as deep as the limit allows and
10,000 messages at the limit), concurrently. Every one gets its 4xx (or its 200), the server
stays up, and its resident memory levels off: a repeated burst does not grow it further.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from stress_profiles import Profile

from veil.demo import LoopbackServer
from veil_process import VeilProcess, running

CHAT = "/v1/chat/completions"


async def short_reply(request: Request) -> JSONResponse:
    """A small chat completion whatever was asked; the connection is closed after it, so no
    request of the test ever meets an idle connection the upstream is just closing."""
    await request.body()
    message = {"role": "assistant", "content": "Noted."}
    choice = {"index": 0, "message": message, "finish_reason": "stop"}
    return JSONResponse({"object": "chat.completion", "choices": [choice]}, headers={"connection": "close"})


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def padded(limit: int, make: str) -> bytes:
    """A chat body of exactly `limit` bytes: prose with values, or 10,000 messages (fewer
    when they would not fit)."""
    if make == "messages":
        count = min(10_000, limit // 100)
        messages = [{"role": "user", "content": f"m{i} "} for i in range(count)]
        skeleton = len(json.dumps({"model": "m", "messages": messages}))
        room = (limit - skeleton) // count
        for i, message in enumerate(messages):
            message["content"] = f"m{i} " + "x" * (room - len(f"m{i} "))
    else:
        skeleton = len(json.dumps({"model": "m", "messages": [{"role": "user", "content": ""}]}))
        sentence = "write to ana@example.com or call 415-555-0134 about the plan. "
        messages = [{"role": "user", "content": (sentence * (limit // len(sentence)))[: limit - skeleton]}]
    raw = json.dumps({"model": "m", "messages": messages}).encode()
    return raw + b" " * (limit - len(raw))


def burst(url: str, limit: int) -> list[tuple[str, int]]:
    """(what, status) for each body of one burst, each sent twice, four at a time."""
    prose, messages = padded(limit, "prose"), padded(limit, "messages")
    over = prose + b" "
    bodies: dict[str, tuple[Callable[[], bytes | Iterator[bytes]], int]] = {
        "over the limit": (lambda: over, 413),
        "over, chunked": (lambda: iter([over[: limit // 2], over[limit // 2 :]]), 413),
        "20 times the limit, chunked": (lambda: iter([over] * 20), 413),
        "at the limit": (lambda: prose, 200),
        "messages at the limit": (lambda: messages, 200),
        "invalid UTF-8": (lambda: b'{"model": "m", "x": "' + b"\xff" * (limit - 30) + b'"}', 400),
        "nested to the limit": (lambda: b"[" * (limit // 2) + b"]" * (limit // 2), 400),
    }
    with httpx.Client(base_url=url, timeout=120, headers={"authorization": "Bearer sk-client"}) as http:

        def send(what: str) -> tuple[str, int]:
            response = http.post(
                CHAT, content=bodies[what][0](), headers={"content-type": "application/json"}
            )
            return what, response.status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(send, [*bodies, *bodies]))
    for what, status in answers:
        assert status == bodies[what][1], what
    return answers


def test_memory_levels_off_under_huge_bodies(profile: Profile, tmp_path: Path) -> None:
    limit = profile.pick(256 * 1024, 10 * 1024 * 1024)
    upstream_app = Starlette(routes=[Route("/v1/chat/completions", short_reply, methods=["POST"])])
    with LoopbackServer(upstream_app) as upstream:
        server = VeilProcess(
            tmp_path,
            {
                "VEIL_UPSTREAM_BASE_URL": upstream.url + "/v1",
                "VEIL_MAX_BODY_BYTES": str(limit),
            },
        )
        with running(server):
            burst(server.url, limit)  # warm-up: allocator arenas, caches, code paths
            after = []
            for _ in range(profile.pick(2, 6)):
                assert len(burst(server.url, limit)) == 14
                after.append(rss_mib(server.pid))
                assert httpx.get(server.url + "/healthz").status_code == 200
            # Levelled off: the later bursts leave the process no larger than the earlier ones
            # did (give or take the allocator's noise).
            earlier, later = after[: len(after) // 2], after[len(after) // 2 :]
            assert max(later) <= 1.1 * max(earlier) + 16, after
            # And bounded: a few times the limit for each of the bodies being worked on at once.
            assert after[0] < 250 + 4 * 30 * limit / 2**20, after
