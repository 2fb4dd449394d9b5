"""What each storage mode keeps, on SQLite and PostgreSQL, seen through the official SDK:
nothing, metadata without values, the provider's transcript, or the client's; and a
reply withheld when its record cannot be stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openai import APIError, AsyncOpenAI, BadRequestError, InternalServerError
from starlette.applications import Starlette

from databases import BACKENDS, database_url
from fake_upstream import FakeUpstream, Script, echo_last_user
from sdk import sdk_client
from veil.store.records import StorageMode
from veil.store.schema import request_records, transcripts, vault_entries

MODEL = "gpt-test"
EMAIL = "ann.lee@example.com"
OTHER_EMAIL = "bo.chan@example.org"
PHONE = "(415) 555-2671"
# In the provider's reply only: the caller never sent it, so the reply guard redacts it.
STRANGER = "stranger@elsewhere.example"
PROMPT = f"Write to {EMAIL} or {OTHER_EMAIL}, or call {PHONE}."
RAW_VALUES = (EMAIL, OTHER_EMAIL, PHONE, STRANGER)


class RecordingUpstream(FakeUpstream):
    """The fake upstream that also keeps the bytes of every reply it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.replies: list[bytearray] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        sent = bytearray()
        self.replies.append(sent)
        try:
            sent.extend(response.content)
        except httpx.ResponseNotRead:
            response.stream = _Tee(response.stream, sent)
        return response


class _Tee(httpx.AsyncByteStream):
    def __init__(self, stream: Any, sink: bytearray) -> None:
        self._stream = stream
        self._sink = sink

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            self._sink.extend(chunk)
            yield chunk


@pytest.fixture
def upstream() -> RecordingUpstream:
    return RecordingUpstream()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def open_app(make_app: Callable[..., Starlette], db_url: str) -> Iterator[Callable[[StorageMode], Starlette]]:
    apps: list[Starlette] = []

    def open_(mode: StorageMode) -> Starlette:
        app = make_app(database_url=db_url, storage_mode=mode)
        apps.append(app)
        return app

    yield open_
    # No lifespan runs under ASGITransport: the engine is closed here, before the schema goes.
    for app in apps:
        app.state.database.dispose()


def echo_and_leak(body: dict[str, Any]) -> Script:
    return Script(contents=[f"{echo_last_user(body).contents[0]} Or ask {STRANGER}."])


async def ask(client: AsyncOpenAI, **options: Any) -> tuple[httpx.Headers, dict[str, Any]]:
    """A whole completion: the reply's headers and its JSON as the client got it."""
    raw = await client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}], **options
    )
    return raw.headers, raw.http_response.json()


async def ask_streamed(client: AsyncOpenAI, **options: Any) -> tuple[httpx.Headers, list[str]]:
    """A streamed completion: the reply's headers and its events' data as the client got them."""
    async with client.chat.completions.with_streaming_response.create(
        model=MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True, **options
    ) as response:
        payloads = [line.removeprefix("data: ") async for line in response.iter_lines() if line]
    return response.headers, payloads


def sse_payloads(body: bytes) -> list[str]:
    return [line.removeprefix(b"data: ").decode() for line in body.split(b"\n") if line]


def streamed_text(payloads: list[str]) -> str:
    events = [json.loads(p) for p in payloads if p != "[DONE]"]
    return "".join(c["delta"].get("content") or "" for e in events for c in e["choices"])


def rows(app: Starlette, table: sa.Table) -> list[sa.Row[Any]]:
    with app.state.database.read() as conn:
        return list(conn.execute(sa.select(table)).all())


def record_of(app: Starlette, request_id: str) -> sa.Row[Any]:
    with app.state.database.read() as conn:
        query = sa.select(request_records).where(request_records.c.request_id == request_id)
        return conn.execute(query).one()


def subject_transcripts(app: Starlette, request_id: str) -> list[dict[str, Any]]:
    """The opened transcripts of the subject (scope) the request was made for, oldest first."""
    return app.state.records.transcripts_of(record_of(app, request_id).subject)


def forms(value: str) -> list[bytes]:
    """A value as its UTF-8 bytes and JSON-escaped (ASCII and not)."""
    escaped = {json.dumps(value, ensure_ascii=ascii_only)[1:-1] for ascii_only in (True, False)}
    return [value.encode(), *(form.encode() for form in escaped)]


def assert_no_raw_value(blob: bytes, where: str) -> None:
    for value in RAW_VALUES:
        for form in forms(value):
            assert form not in blob, f"a raw {len(value)}-char value is in {where}"


async def test_mode_none_keeps_no_record(open_app: Callable[[StorageMode], Starlette]) -> None:
    app = open_app("none")
    async with sdk_client(app) as client:
        whole_headers, whole = await ask(client)
        stream_headers, payloads = await ask_streamed(client)

    assert whole["choices"][0]["message"]["content"] == f"You said: {PROMPT}"
    assert streamed_text(payloads) == f"You said: {PROMPT}"
    assert whole_headers["x-veil-stored"] == stream_headers["x-veil-stored"] == "none"
    assert rows(app, request_records) == []
    assert rows(app, transcripts) == []


async def test_metadata_mode_records_counts_never_values(
    open_app: Callable[[StorageMode], Starlette], upstream: FakeUpstream
) -> None:
    app = open_app("metadata")
    upstream.reply = echo_and_leak
    async with sdk_client(app) as client:
        whole_headers, _ = await ask(client)
        plain_headers, _ = await ask_streamed(client)
        usage_headers, _ = await ask_streamed(client, stream_options={"include_usage": True})
        upstream.reply = lambda body: Script(status=400, error={"message": "no"})
        with pytest.raises(BadRequestError) as refused:
            await ask(client)

    assert whole_headers["x-veil-stored"] == plain_headers["x-veil-stored"] == "metadata"
    entities = {
        "request": {"EMAIL_ADDRESS": 2, "PHONE_NUMBER": 1},
        "response": {"EMAIL_ADDRESS": 1},
    }
    rejected_headers = refused.value.response.headers
    expected = [
        (whole_headers, False, 200, 10, 10, entities),
        # Usage only comes in a stream when the client asks for it.
        (plain_headers, True, 200, None, None, entities),
        (usage_headers, True, 200, 1, 1, entities),
        (rejected_headers, False, 400, None, None, {**entities, "response": {}}),
    ]
    for headers, stream, status, prompt_tokens, completion_tokens, counts in expected:
        row = record_of(app, headers["x-request-id"])
        assert (row.endpoint, row.model, row.stream, row.status, row.storage_mode) == (
            "chat_completions",
            MODEL,
            stream,
            status,
            "metadata",
        )
        assert (row.prompt_tokens, row.completion_tokens) == (prompt_tokens, completion_tokens)
        assert row.entities == counts
        assert row.subject.startswith("key:")
        assert_no_raw_value(repr(tuple(row)).encode() + json.dumps(row.entities).encode(), "a record")
    assert len(rows(app, request_records)) == 4
    assert rows(app, transcripts) == []


async def test_pseudonymized_transcript_is_what_the_provider_saw(
    open_app: Callable[[StorageMode], Starlette], upstream: RecordingUpstream
) -> None:
    app = open_app("pseudonymized")
    async with sdk_client(app) as client:
        headers, _ = await ask(client)
        stream_headers, _ = await ask_streamed(client)

    assert headers["x-veil-stored"] == stream_headers["x-veil-stored"] == "pseudonymized"
    whole, streamed = subject_transcripts(app, headers["x-request-id"])
    assert (whole["request_id"], streamed["request_id"]) == (
        headers["x-request-id"],
        stream_headers["x-request-id"],
    )
    assert whole["kind"] == streamed["kind"] == "pseudonymized"
    assert whole["request"] == upstream.bodies[0]
    assert whole["response"] == json.loads(upstream.replies[0])
    assert streamed["request"] == upstream.bodies[1]
    assert streamed["response"] == sse_payloads(upstream.replies[1])
    assert streamed["response"][-1] == "[DONE]"
    tokenized = "<EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>, or call <PHONE_NUMBER_1>"
    assert tokenized in whole["request"]["messages"][0]["content"]
    assert tokenized in whole["response"]["choices"][0]["message"]["content"]
    assert tokenized in streamed_text(streamed["response"])
    assert_no_raw_value(json.dumps([whole, streamed]).encode(), "the opened transcript")


async def test_full_transcript_is_what_the_client_sent_and_got(
    open_app: Callable[[StorageMode], Starlette],
) -> None:
    app = open_app("full")
    sent: list[bytes] = []

    async def keep(request: httpx.Request) -> None:
        sent.append(request.content)

    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://veil.test", event_hooks={"request": [keep]}
    )
    async with AsyncOpenAI(
        api_key="sk-client-key", base_url="http://veil.test/v1", http_client=http, max_retries=0
    ) as client:
        headers, reply = await ask(client)
        stream_headers, payloads = await ask_streamed(client)

    assert headers["x-veil-stored"] == stream_headers["x-veil-stored"] == "full"
    whole, streamed = subject_transcripts(app, headers["x-request-id"])
    assert whole["kind"] == streamed["kind"] == "full"
    assert whole["request"] == json.loads(sent[0])
    assert whole["response"] == reply
    assert streamed["request"] == json.loads(sent[1])
    assert streamed["response"] == payloads
    assert payloads[-1] == "[DONE]"
    assert whole["request"]["messages"][0]["content"] == PROMPT
    assert whole["response"]["choices"][0]["message"]["content"] == f"You said: {PROMPT}"
    assert streamed_text(streamed["response"]) == f"You said: {PROMPT}"
    sealed = [row.sealed for row in rows(app, transcripts)]
    assert len(sealed) == 2
    assert_no_raw_value(b"\n".join(sealed), "a sealed transcript")
    assert_no_raw_value(b"\n".join(row.value_ct for row in rows(app, vault_entries)), "the vault")


@pytest.mark.parametrize(("mode", "broken"), [("metadata", "request_records"), ("full", "transcripts")])
async def test_whole_reply_is_withheld_when_its_record_cannot_be_stored(
    open_app: Callable[[StorageMode], Starlette], upstream: FakeUpstream, mode: StorageMode, broken: str
) -> None:
    app = open_app(mode)
    with app.state.database.write() as conn:
        conn.execute(sa.text(f"DROP TABLE {broken}"))

    async with sdk_client(app) as client:
        with pytest.raises(InternalServerError) as raised:
            await ask(client)

    assert len(upstream.bodies) == 1, "the provider answered; Veil withheld it"
    response = raised.value.response
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["type"], error["param"], error["code"]) == ("server_error", None, "storage_unavailable")
    assert "You said" not in response.text
    assert_no_raw_value(response.content, "the error")
    if broken == "transcripts":
        assert rows(app, request_records) == [], "the record is all or nothing"


@pytest.mark.parametrize(("mode", "broken"), [("metadata", "request_records"), ("full", "transcripts")])
async def test_streamed_reply_ends_in_an_error_when_its_record_cannot_be_stored(
    open_app: Callable[[StorageMode], Starlette], mode: StorageMode, broken: str
) -> None:
    app = open_app(mode)
    with app.state.database.write() as conn:
        conn.execute(sa.text(f"DROP TABLE {broken}"))

    async with sdk_client(app) as client:
        headers, payloads = await ask_streamed(client)
        assert headers["x-veil-stored"] == mode
        assert "[DONE]" not in payloads, "the client saw its reply end, yet no record was stored"
        assert json.loads(payloads[-1])["error"]["code"] == "storage_unavailable"

        stream = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": PROMPT}], stream=True
        )
        with pytest.raises(APIError) as raised:
            async for _ in stream:
                pass
    assert raised.value.code == "storage_unavailable"
