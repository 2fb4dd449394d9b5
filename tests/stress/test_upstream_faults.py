"""A flaky provider, on real sockets and Veil's own pooled client (its configured connect
and read timeouts): connections that never complete, stalls before the reply and in the
middle of it, resets (RST) and early closes mid-body and mid-stream, bursts of 5xx.

Each failure reaches the client as a clean error in OpenAI's shape: 504 `upstream_timeout`,
502 `upstream_unavailable`, the provider's own 5xx passed through, or, once a stream has
begun, an error event; text held back in a stream stays held back; and the server is
healthy after each (the next request through it is answered).
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from faulty_upstream import (
    RESET,
    STALL,
    FaultyUpstream,
    Steps,
    chat_events,
    head,
    responses_events,
    streamed,
    unaccepting_port,
    whole,
)
from stress_profiles import Profile

from veil.app import build_http_client, create_app
from veil.config import Settings

CONNECT_TIMEOUT = 0.3
# Long enough that a good reply on a busy 2-core machine is never mistaken for a stall (0.5 s
# was, now and then, under a parallel test load), short enough to keep the stalls cheap.
READ_TIMEOUT = 1.5
CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
USER = "faults"
HELD = "Write to kim.park@exa"  # a stream cut here: "kim.park@exa" may be half a value


def chat_reply(text: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": text}
    return {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
    }


def healthy(body: dict[str, Any]) -> list[Any]:
    if body.get("stream"):
        return streamed(chat_events("Mail <EMAIL_ADDRESS_1>", " now."))
    return whole(chat_reply("Mail <EMAIL_ADDRESS_1> now."))


def ask(stream: bool = False, path: str = CHAT) -> dict[str, Any]:
    if path == RESPONSES:
        return {"model": "m", "user": USER, "stream": stream, "input": "hi"}
    return {"model": "m", "user": USER, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}


@asynccontextmanager
async def veil_in_front_of(
    base_url: str, settings: Settings, timeouts: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT)
) -> AsyncIterator[httpx.AsyncClient]:
    """Veil with the upstream client it builds for itself (real sockets, its timeouts:
    connect, read)."""
    connect, read = timeouts
    settings = settings.model_copy(
        update={
            "upstream_base_url": base_url,
            "upstream_connect_timeout": connect,
            "upstream_read_timeout": read,
        }
    )
    async with build_http_client(settings) as upstream_client:
        app = create_app(settings, http_client=upstream_client)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://veil.test", timeout=30
        ) as client:
            yield client


@pytest.fixture
def timeouts() -> tuple[float, float]:
    return CONNECT_TIMEOUT, READ_TIMEOUT


@pytest.fixture
async def faulty(
    rules_settings: Settings, timeouts: tuple[float, float]
) -> AsyncIterator[tuple[FaultyUpstream, httpx.AsyncClient]]:
    with FaultyUpstream(healthy) as upstream:
        async with veil_in_front_of(upstream.url, rules_settings, timeouts) as veil:
            # The user's address gets its token, for replies that hold it.
            first = await veil.post(
                CHAT,
                json={
                    "model": "m",
                    "user": USER,
                    "messages": [{"role": "user", "content": "I am ana@example.com"}],
                },
            )
            assert first.json()["choices"][0]["message"]["content"] == "Mail ana@example.com now."
            yield upstream, veil


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {
        "error": {
            "message": response.json()["error"]["message"],
            "type": "upstream_error",
            "param": None,
            "code": code,
        }
    }
    assert "x-request-id" in response.headers


def stream_events(response: httpx.Response) -> list[dict[str, Any]]:
    return [
        json.loads(line[6:])
        for line in response.text.split("\n")
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


def stream_error(path: str, events: list[dict[str, Any]]) -> str | None:
    last = events[-1] if events else {}
    if path == RESPONSES:
        return last.get("code") if last.get("type") == "error" else None
    return last.get("error", {}).get("code")


async def assert_still_healthy(upstream: FaultyUpstream, veil: httpx.AsyncClient) -> None:
    upstream.steps = healthy
    whole_reply = await veil.post(CHAT, json=ask())
    assert whole_reply.json()["choices"][0]["message"]["content"] == "Mail ana@example.com now."
    stream = await veil.post(CHAT, json=ask(True))
    text = "".join(
        e["choices"][0]["delta"].get("content") or "" for e in stream_events(stream) if e["choices"]
    )
    assert text == "Mail ana@example.com now."
    assert (await veil.get("/healthz")).status_code == 200


async def test_connect_timeout_is_a_504(rules_settings: Settings) -> None:
    with unaccepting_port() as port:
        async with veil_in_front_of(f"http://127.0.0.1:{port}/v1", rules_settings) as veil:
            for stream in (False, True):
                started = time.monotonic()
                assert_error(await veil.post(CHAT, json=ask(stream)), 504, "upstream_timeout")
                assert time.monotonic() - started < CONNECT_TIMEOUT + 2


async def test_connection_refused_is_a_502(rules_settings: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        async with veil_in_front_of(f"http://127.0.0.1:{port}/v1", rules_settings) as veil:
            for stream in (False, True):
                assert_error(await veil.post(CHAT, json=ask(stream)), 502, "upstream_unavailable")


WHOLE_FAULTS: dict[str, tuple[Steps, int, str]] = {
    "stall before the reply": (lambda body: [STALL], 504, "upstream_timeout"),
    "stall after the head": (lambda body: [head(length=200), STALL], 504, "upstream_timeout"),
    "stall mid-body": (lambda body: [head(length=200), b'{"choices": [', STALL], 504, "upstream_timeout"),
    "reset before the reply": (lambda body: [RESET], 502, "upstream_unavailable"),
    "reset mid-body": (lambda body: [head(length=200), b'{"choices": [', RESET], 502, "upstream_unavailable"),
    "closed before the reply": (lambda body: [], 502, "upstream_unavailable"),
    "closed mid-body": (lambda body: [head(length=200), b'{"choices": ['], 502, "upstream_unavailable"),
    "closed mid-chunk": (
        lambda body: [head(), b"c8\r\n" + b'{"choices": ['],
        502,
        "upstream_unavailable",
    ),
    "garbage instead of HTTP": (lambda body: [b"SSH-2.0-OpenSSH\r\n\r\n"], 502, "upstream_unavailable"),
}


@pytest.mark.parametrize("fault", list(WHOLE_FAULTS))
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream-request"])
async def test_faults_before_a_reply_is_complete(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], fault: str, stream: bool
) -> None:
    upstream, veil = faulty
    steps, status, code = WHOLE_FAULTS[fault]
    upstream.steps = steps
    started = time.monotonic()
    # A streamed request whose reply is not a stream: refused the same way.
    assert_error(await veil.post(CHAT, json=ask(stream)), status, code)
    assert time.monotonic() - started < READ_TIMEOUT + 2
    await assert_still_healthy(upstream, veil)


STREAM_FAULTS: dict[str, tuple[Callable[[list[bytes]], list[Any]], str]] = {
    "reset mid-stream": (lambda frames: streamed(frames, RESET), "upstream_unavailable"),
    "stall mid-stream": (lambda frames: streamed(frames, STALL), "upstream_timeout"),
    "closed mid-stream": (lambda frames: streamed(frames, b""), "upstream_unavailable"),
    "closed mid-chunk": (lambda frames: streamed(frames, b"40\r\ndata: {"), "upstream_unavailable"),
    "garbage chunk size": (lambda frames: streamed(frames, b"zz\r\n"), "upstream_unavailable"),
}


@pytest.mark.parametrize("fault", list(STREAM_FAULTS))
@pytest.mark.parametrize("path", [CHAT, RESPONSES], ids=["chat", "responses"])
async def test_faults_mid_stream(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], fault: str, path: str
) -> None:
    """The stream has begun (200 sent): the client gets what was safe to show, then an
    error event; the half address held back is never shown."""
    upstream, veil = faulty
    make, code = STREAM_FAULTS[fault]
    events = chat_events("Dear <EMAIL_ADDRESS_1>, ", HELD, done=False) if path == CHAT else None
    frames = events or responses_events("Dear <EMAIL_ADDRESS_1>, ", HELD)
    upstream.steps = lambda body: make(frames)
    started = time.monotonic()
    response = await veil.post(path, json=ask(True, path))
    assert response.status_code == 200
    assert time.monotonic() - started < READ_TIMEOUT + 2
    assert "Dear ana@example.com, " in response.text
    assert "kim.park" not in response.text
    assert stream_error(path, stream_events(response)) == code
    assert "response.completed" not in response.text
    await assert_still_healthy(upstream, veil)


# A hundred connections at once to a one-thread upstream on a busy machine can take longer
# than the short connect timeout to be accepted, and their replies longer than the short read.
@pytest.mark.parametrize("timeouts", [(30.0, 30.0)], ids=["patient"])
@pytest.mark.parametrize("status", [500, 502, 503, 504, 529])
async def test_a_burst_of_5xx_passes_through(
    profile: Profile, faulty: tuple[FaultyUpstream, httpx.AsyncClient], status: int
) -> None:
    """Many concurrent requests, each answered with the provider's error: each client gets
    that status and the provider's error body (its tokens restored)."""
    upstream, veil = faulty
    error = {
        "message": "The server had an error processing your request about <EMAIL_ADDRESS_1>.",
        "type": "server_error",
        "param": None,
        "code": None,
    }
    upstream.steps = lambda body: whole({"error": error}, status)
    at_once = asyncio.Semaphore(100)  # Veil's pool has 200 upstream connections

    async def one(n: int) -> httpx.Response:
        async with at_once:
            return await veil.post(CHAT, json=ask(n % 2 == 0))

    answers = await asyncio.gather(*(one(n) for n in range(profile.pick(40, 400))))
    for answer in answers:
        assert answer.status_code == status
        assert answer.json() == {
            "error": {**error, "message": error["message"].replace("<EMAIL_ADDRESS_1>", "ana@example.com")}
        }
    await assert_still_healthy(upstream, veil)


@pytest.mark.parametrize("stream", [False, True])
async def test_a_5xx_that_is_not_json_is_answered_in_openai_shape(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], stream: bool
) -> None:
    """A load balancer's HTML error page in front of the provider."""
    upstream, veil = faulty
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    upstream.steps = lambda body: [head(502, "text/html", len(page)) + page]
    response = await veil.post(CHAT, json=ask(stream))
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]["type"] == "upstream_error"
    assert response.json()["error"]["code"] == "upstream_http_502"
    await assert_still_healthy(upstream, veil)


async def test_faults_in_a_row_leave_the_pool_usable(
    profile: Profile, faulty: tuple[FaultyUpstream, httpx.AsyncClient]
) -> None:
    """Resets, stalls and early closes, concurrent with good replies, many times over:
    every good request is answered, every bad one gets its error in time."""
    upstream, veil = faulty
    faults = list(WHOLE_FAULTS.values())

    def steps(body: dict[str, Any]) -> list[Any]:
        said = body["messages"][0]["content"]
        return healthy(body) if said == "hi" else faults[int(said.split()[1])][0](body)

    upstream.steps = steps
    for n in range(profile.pick(1, 20) * len(faults)):
        fault = n % len(faults)
        bad = {**ask(n % 2 == 0), "messages": [{"role": "user", "content": f"fault {fault}"}]}
        started = time.monotonic()
        answers = await asyncio.gather(
            veil.post(CHAT, json=bad), *(veil.post(CHAT, json=ask()) for _ in range(3))
        )
        assert time.monotonic() - started < READ_TIMEOUT + 2
        assert_error(answers[0], faults[fault][1], faults[fault][2])
        assert [answer.status_code for answer in answers[1:]] == [200] * 3
    await assert_still_healthy(upstream, veil)
