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
import sqlalchemy as sa
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
from openai import APIError, AsyncOpenAI
from prometheus_client.parser import text_string_to_metric_families
from stress_profiles import Profile

from veil.app import build_http_client, create_app
from veil.config import Settings
from veil.store.schema import audit_log

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


COMPLETIONS = "/v1/completions"
ASKED = "Write to ana@example.com"


def completion_events(*texts: str) -> list[bytes]:
    """Legacy completion chunks with these texts, as SSE frames (no finish reason, no `[DONE]`)."""
    return [
        b"data: "
        + json.dumps({"object": "text_completion", "choices": [{"index": 0, "text": t}]}).encode()
        + b"\n\n"
        for t in texts
    ]


# Streams the upstream closes cleanly (its last chunk sent, nothing reset or half-sent)
# before their end event: `[DONE]` (or a finish reason), or `response.completed`.
EARLY_ENDS: dict[str, dict[str, list[bytes]]] = {
    "no event at all": {CHAT: [], RESPONSES: [], COMPLETIONS: []},
    "the opening event only": {
        CHAT: chat_events("", done=False),
        RESPONSES: responses_events(),
        COMPLETIONS: completion_events(""),
    },
    "all the text, then no end": {
        CHAT: chat_events("Dear <EMAIL_ADDRESS_1>, ", "see you.", done=False),
        RESPONSES: responses_events("Dear <EMAIL_ADDRESS_1>, ", "see you."),
        COMPLETIONS: completion_events("Dear <EMAIL_ADDRESS_1>, ", "see you."),
    },
}


def sdk(veil: httpx.AsyncClient) -> AsyncOpenAI:
    return AsyncOpenAI(
        api_key="sk-client-key", base_url="http://veil.test/v1", http_client=veil, max_retries=0
    )


async def sdk_stream(client: AsyncOpenAI, path: str) -> tuple[str, APIError | None]:
    """What the official SDK makes of a streamed reply: its text, and the error it raised."""
    text: list[str] = []
    try:
        if path == CHAT:
            chunks = await client.chat.completions.create(
                model="m", user=USER, stream=True, messages=[{"role": "user", "content": ASKED}]
            )
            async for chunk in chunks:
                text += [choice.delta.content or "" for choice in chunk.choices]
        elif path == RESPONSES:
            events = await client.responses.create(model="m", user=USER, stream=True, input=ASKED)
            async for event in events:
                if event.type == "response.output_text.delta":
                    text.append(event.delta)
        else:
            pieces = await client.completions.create(model="m", user=USER, stream=True, prompt=ASKED)
            async for piece in pieces:
                text += [choice.text for choice in piece.choices]
    except APIError as error:
        return "".join(text), error
    return "".join(text), None


@pytest.mark.parametrize("path", [CHAT, RESPONSES, COMPLETIONS], ids=["chat", "responses", "completions"])
@pytest.mark.parametrize("where", list(EARLY_ENDS))
async def test_a_stream_closed_before_its_end_event_ends_in_the_cut_error(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], where: str, path: str
) -> None:
    """A clean close before the stream's end event is a cut like a reset: the client gets
    what was safe to show, then the `upstream_truncated` error event; never a `[DONE]` or
    `response.completed` that passes the cut reply (or no reply at all) off as whole."""
    upstream, veil = faulty
    upstream.steps = lambda body: streamed(EARLY_ENDS[where][path])

    text, error = await sdk_stream(sdk(veil), path)

    assert error is not None and error.code == "upstream_truncated", (text, error)
    assert "Dear ana@example.com, see you.".startswith(text) and "you" not in text
    assert bool(text) == (where == "all the text, then no end")
    sent = json.dumps(upstream.bodies[-1])
    assert "<EMAIL_ADDRESS_1>" in sent and "ana@example.com" not in sent
    body = {**ask(True), "prompt": "hi"} if path == COMPLETIONS else ask(True, path)
    response = await veil.post(path, json=body)
    assert response.status_code == 200
    assert stream_error(path, stream_events(response)) == "upstream_truncated"
    assert "[DONE]" not in response.text and "response.completed" not in response.text
    await assert_still_healthy(upstream, veil)


@pytest.mark.parametrize("ending", ["cut", "provider error"])
async def test_a_stream_that_ends_in_an_error_is_recorded_as_failed(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], ending: str
) -> None:
    """The audit log does not record a stream that ended in an error as a reply forwarded whole."""
    upstream, veil = faulty
    frames = chat_events("Dear <EMAIL_ADDRESS_1>, ", HELD, done=False)
    if ending == "provider error":
        frames.append(b"data: " + json.dumps({"error": PROVIDER_ERROR}).encode() + b"\n\n")
    upstream.steps = lambda body: streamed(frames)
    response = await veil.post(CHAT, json=ask(True))
    code = "upstream_truncated" if ending == "cut" else PROVIDER_ERROR["code"]
    assert stream_error(CHAT, stream_events(response)) == code
    request_id = response.headers["x-request-id"]
    app = veil._transport.app  # type: ignore[attr-defined]
    for _ in range(200):  # a failed request is recorded off the response's path
        with app.state.database.read() as conn:
            bodies = [json.loads(row[0]) for row in conn.execute(sa.select(audit_log.c.body))]
        entry = next((b["data"] for b in bodies if b["data"].get("request_id") == request_id), None)
        if entry is not None:
            break
        await asyncio.sleep(0.02)
    assert entry is not None
    assert (entry["status"], entry["outcome"]) == (502, "failed")


PROVIDER_ERROR = {
    "message": "The server had an error while processing your request. Sorry about that!",
    "type": "server_error",
    "param": None,
    "code": "server_error",
}


@pytest.mark.parametrize("path", [CHAT, RESPONSES], ids=["chat", "responses"])
async def test_the_provider_s_own_error_event_passes_whole_and_ends_the_stream(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], path: str
) -> None:
    """An error event the provider sends mid-stream reaches the client as it was sent (its
    code and message whole, not cut up like streamed text), and it is the stream's last:
    Veil adds no cut error of its own after it."""
    upstream, veil = faulty
    if path == CHAT:
        frames = chat_events("Dear <EMAIL_ADDRESS_1>, ", done=False)
        frames.append(b"data: " + json.dumps({"error": PROVIDER_ERROR}).encode() + b"\n\n")
    else:
        frames = responses_events("Dear <EMAIL_ADDRESS_1>, ")
        # The API's shape for it: the error's fields at the top, no `error` object.
        event = {**PROVIDER_ERROR, "type": "error", "sequence_number": 2}
        frames.append(b"event: error\ndata: " + json.dumps(event).encode() + b"\n\n")
    upstream.steps = lambda body: streamed(frames)

    response = await veil.post(path, json=ask(True, path))

    events = stream_events(response)
    assert "Dear ana@example.com, " in response.text
    errors = [e for e in events if "error" in e or e.get("type") == "error"]
    assert len(errors) == 1 and errors[0] is events[-1]
    got = errors[0]["error"] if path == CHAT else {**errors[0], "type": PROVIDER_ERROR["type"]}
    assert {k: got[k] for k in PROVIDER_ERROR} == PROVIDER_ERROR
    assert "[DONE]" not in response.text
    if path == CHAT:
        _, error = await sdk_stream(sdk(veil), path)
        assert error is not None and error.code == "server_error"
        assert error.message == PROVIDER_ERROR["message"]
    await assert_still_healthy(upstream, veil)


@pytest.mark.parametrize("path", [CHAT, RESPONSES], ids=["chat", "responses"])
async def test_half_an_emoji_keeps_its_delta_in_the_text_channel(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], path: str
) -> None:
    """A delta ending in half a surrogate pair (a model cut off inside an emoji; JSON that
    orjson refuses) is read like any other, its half character replaced: the address split
    around it is still seen whole and redacted, and the text keeps its order."""
    upstream, veil = faulty
    pieces = ("Write to kim.park@exa", "mple.org \ud83d", " now.")
    if path == CHAT:
        frames = chat_events(*pieces)
    else:
        completed = {"type": "response.completed", "response": {"id": "resp_1", "output": []}}
        frames = [*responses_events(*pieces), b"data: " + json.dumps(completed).encode() + b"\n\n"]
    assert any(b"\\ud83d" in frame for frame in frames), "written as the provider writes it"
    upstream.steps = lambda body: streamed(frames)

    response = await veil.post(path, json=ask(True, path))

    events = stream_events(response)
    if path == CHAT:
        text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events if e.get("choices"))
    else:
        text = "".join(e["delta"] for e in events if e.get("type") == "response.output_text.delta")
    assert text == "Write to [REDACTED_EMAIL_ADDRESS] \ufffd now."
    assert stream_error(path, events) is None
    await assert_still_healthy(upstream, veil)


def finished_events(path: str, *texts: str) -> list[bytes]:
    """A chat or legacy completion stream's chunks up to its finish reason, with `usage: null`
    as the API sends it when usage was asked for: no usage chunk, no `[DONE]`."""
    if path == CHAT:
        choices = [{"index": 0, "delta": {"content": t}, "finish_reason": None} for t in texts]
        choices.append({"index": 0, "delta": {}, "finish_reason": "stop"})
        envelope = {"object": "chat.completion.chunk", "usage": None}
    else:
        choices = [{"index": 0, "text": t, "finish_reason": None} for t in texts]
        choices.append({"index": 0, "text": "", "finish_reason": "stop"})
        envelope = {"object": "text_completion", "usage": None}
    return [b"data: " + json.dumps({**envelope, "choices": [c]}).encode() + b"\n\n" for c in choices]


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS], ids=["chat", "completions"])
@pytest.mark.parametrize("include_usage", [True, False], ids=["usage-asked", "usage-not-asked"])
async def test_a_stream_cut_before_the_usage_it_was_asked_for_ends_in_the_cut_error(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], path: str, include_usage: bool
) -> None:
    """Every choice finished, then the upstream closed: without `stream_options.include_usage`
    the reply is whole; with it the usage chunk is still to come, so the stream was cut and
    ends in `upstream_truncated` (the client must not count it as whole, nor its usage as 0)."""
    upstream, veil = faulty
    upstream.steps = lambda body: streamed(finished_events(path, "Dear <EMAIL_ADDRESS_1>, ", "see you."))
    client = sdk(veil)
    text: list[str] = []
    usage: list[Any] = []
    error: APIError | None = None
    options: Any = {"stream_options": {"include_usage": True}} if include_usage else {}
    try:
        if path == CHAT:
            chunks = await client.chat.completions.create(
                model="m", user=USER, stream=True, messages=[{"role": "user", "content": ASKED}], **options
            )
            async for chunk in chunks:
                text += [choice.delta.content or "" for choice in chunk.choices]
                usage.append(chunk.usage)
        else:
            pieces = await client.completions.create(
                model="m", user=USER, stream=True, prompt=ASKED, **options
            )
            async for piece in pieces:
                text += [choice.text for choice in piece.choices]
                usage.append(piece.usage)
    except APIError as raised:
        error = raised

    assert upstream.bodies[-1].get("stream_options") == options.get("stream_options")
    assert "".join(text) == "Dear ana@example.com, see you.", "every choice finished: its text is whole"
    assert usage and all(u is None for u in usage)
    if include_usage:
        assert error is not None and error.code == "upstream_truncated"
    else:
        assert error is None
    await assert_still_healthy(upstream, veil)


async def test_a_stream_opening_with_a_byte_order_mark_loses_no_event(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient],
) -> None:
    """A UTF-8 BOM before the first event (some servers write one) is ignored, as the SSE
    specification says: the first chunk is read like the others, not dropped as an unknown
    field (U+FEFF "data")."""
    upstream, veil = faulty
    frames = chat_events("Dear <EMAIL_ADDRESS_1>, ", "see you.")
    frames[0] = "\ufeff".encode() + frames[0]
    upstream.steps = lambda body: streamed(frames)

    text, error = await sdk_stream(sdk(veil), CHAT)

    assert (text, error) == ("Dear ana@example.com, see you.", None)
    await assert_still_healthy(upstream, veil)


async def counters(veil: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every counter's samples, by name and labels."""
    text = (await veil.get("/metrics")).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.type == "counter"
        for sample in family.samples
        if sample.name.endswith("_total")
    }


def upstream_errors(counted: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> dict[str, float]:
    return {
        dict(labels)["kind"]: value
        for (name, labels), value in counted.items()
        if name == "veil_upstream_errors_total"
    }


@pytest.mark.parametrize("ending", ["record not stored", "cut"])
async def test_a_stream_s_failed_end_is_counted_as_what_it_was(
    faulty: tuple[FaultyUpstream, httpx.AsyncClient], ending: str
) -> None:
    """A stream whose record cannot be committed at its end is a storage error, counted once
    in `veil_storage_errors`, not an upstream error; a cut is an upstream error only."""
    upstream, veil = faulty
    app = veil._transport.app  # type: ignore[attr-defined]
    if ending == "record not stored":
        upstream.steps = healthy
        with app.state.database.write() as conn:
            conn.execute(sa.text("DROP TABLE request_records"))
    else:
        upstream.steps = lambda body: streamed(chat_events("Dear <EMAIL_ADDRESS_1>, ", done=False))
    before = await counters(veil)

    text, error = await sdk_stream(sdk(veil), CHAT)

    code = "storage_unavailable" if ending == "record not stored" else "upstream_truncated"
    assert error is not None and error.code == code, (text, error)
    if ending == "cut":
        # The failed request is recorded off the response's path: wait until it was.
        for _ in range(200):
            with app.state.database.read() as conn:
                if any('"failed"' in row[0] for row in conn.execute(sa.select(audit_log.c.body))):
                    break
            await asyncio.sleep(0.02)
    after = await counters(veil)
    stored = after[("veil_storage_errors_total", ())] - before[("veil_storage_errors_total", ())]
    counted = {
        kind: value - upstream_errors(before).get(kind, 0) for kind, value in upstream_errors(after).items()
    }
    if ending == "record not stored":
        assert (stored, counted) == (1, {}), "the upstream answered in full"
    else:
        assert (stored, counted) == (0, {"upstream_truncated": 1})
