"""Veil speaks the API faithfully: streams, errors, receipts, pass-through endpoints."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI, BadRequestError
from starlette.applications import Starlette

from fake_upstream import FakeUpstream, Script
from veil.detect.analyzer import Analyzer

CHAT = "/v1/chat/completions"


def _events(body: bytes) -> list[str]:
    return [line[len("data: ") :] for line in body.decode().split("\n") if line.startswith("data: ")]


async def test_stream_is_many_events_with_usage_and_one_done(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        CHAT,
        json={
            "model": "gpt-test",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "write to lee.h@example.com about the weather today"}],
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.content)
    assert events.count("[DONE]") == 1 and events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert len([c for c in chunks if c["choices"] and c["choices"][0]["delta"].get("content")]) >= 8
    assert chunks[-1]["usage"]["total_tokens"] == 2 and chunks[-1]["choices"] == []
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "You said: write to lee.h@example.com about the weather today"


async def test_receipt_headers(raw: httpx.AsyncClient) -> None:
    response = await raw.post(
        CHAT,
        json={
            "model": "m",
            "messages": [{"role": "user", "content": "a@example.com b@example.com 4111111111111111"}],
        },
    )
    assert response.headers["x-veil-redactions"] == "CREDIT_CARD=1,EMAIL_ADDRESS=2"
    assert response.headers["x-request-id"].startswith("veil-")
    clean = await raw.post(CHAT, json={"model": "m", "messages": [{"role": "user", "content": "hello"}]})
    assert clean.headers["x-veil-redactions"] == "none"


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (b'{"model": "m", "messages": [', 400, None),
        (b"[1, 2]", 400, None),
        (b'{"model": "m"}', 400, "messages"),
        (b'{"model": "m", "messages": [{"content": "x"}]}', 400, "messages[0]"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', 400, "stream"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "\xff\xfe"}]}', 400, None),
        (b"[" * 5000 + b"]" * 5000, 400, None),
    ],
)
async def test_bad_input_is_a_clear_400(
    raw: httpx.AsyncClient, upstream: FakeUpstream, body: bytes, status: int, param: str | None
) -> None:
    response = await raw.post(CHAT, content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]
    assert error["param"] == param
    assert upstream.raw_requests == []


async def test_body_over_the_limit_is_413(make_app: Callable[..., Starlette], upstream: FakeUpstream) -> None:
    app = make_app(max_body_bytes=1000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test") as http:
        content = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * 2000}]})
        response = await http.post(CHAT, content=content)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert upstream.raw_requests == []


async def test_upstream_errors_pass_through_with_their_status(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.reply = lambda body: Script(
        status=429, error={"message": "Rate limit", "type": "rate_limit", "code": "rl"}
    )
    for stream in (False, True):
        response = await raw.post(
            CHAT, json={"model": "m", "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
        )
        assert response.status_code == 429
        assert response.json()["error"]["message"] == "Rate limit"


@pytest.mark.parametrize(
    ("failure", "status", "code"),
    [
        (httpx.ReadTimeout("slow"), 504, "upstream_timeout"),
        (httpx.ConnectError("refused"), 502, "upstream_unavailable"),
    ],
)
async def test_upstream_failures_are_mapped(
    make_app: Callable[..., Starlette], upstream: FakeUpstream, failure: Exception, status: int, code: str
) -> None:
    def fail(body: dict[str, Any]) -> Script:
        raise failure

    upstream.reply = fail
    app = make_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test") as http:
        response = await http.post(CHAT, json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
        metrics = (await http.get("/metrics")).text
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert f'veil_upstream_errors_total{{kind="{code}"}} 1.0' in metrics


async def test_detection_failure_forwards_nothing(
    raw: httpx.AsyncClient, upstream: FakeUpstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Analyzer, texts: Any) -> list[Any]:
        raise RuntimeError("detector crashed")

    monkeypatch.setattr(Analyzer, "analyze", broken)
    monkeypatch.setattr(Analyzer, "analyze_many", broken)
    response = await raw.post(
        CHAT, json={"model": "m", "messages": [{"role": "user", "content": "mail a@example.com"}]}
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "detection_failed"
    assert "a@example.com" not in response.text
    assert upstream.raw_requests == []


async def test_models_healthz_and_metrics(raw: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    assert (await raw.get("/healthz")).json() == {"status": "ok"}
    models = await raw.get("/v1/models")
    assert models.headers["content-type"] == "application/json"
    assert models.json()["data"][0]["id"] == "gpt-test"
    assert b"sk-upstream-test-key" in upstream.raw_headers[0]
    await raw.post(
        CHAT, json={"model": "m", "messages": [{"role": "user", "content": "call +44 20 7946 0958"}]}
    )
    metrics = (await raw.get("/metrics")).text
    assert 'veil_entities_total{direction="request",entity_type="PHONE_NUMBER"} 1.0' in metrics
    assert "veil_request_duration_seconds_bucket" in metrics
    assert "7946" not in metrics


async def test_client_key_is_not_forwarded_when_veil_has_one(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    await raw.post(CHAT, json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert b"sk-client-key" not in upstream.seen()


async def test_no_raw_value_in_any_log_line_at_debug(
    client: AsyncOpenAI, caplog: pytest.LogCaptureFixture, upstream: FakeUpstream
) -> None:
    secret_values = ["zed.q@example.com", "4242424242424242", "AKIAIOSFODNN7EXAMPLF"]
    caplog.set_level(logging.DEBUG)
    prompt = "keys: " + " ".join(secret_values)
    await client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": prompt}], stream=True
    )
    async for _ in stream:
        pass
    # An upstream error that quotes the (pseudonymized) prompt back.
    upstream.reply = lambda body: Script(
        status=400, error={"message": f"bad: {body['messages'][0]['content']}"}
    )
    with pytest.raises(BadRequestError) as raised:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
    assert secret_values[0] in str(raised.value), "the client gets its own values back in the error"
    logged = "\n".join(record.getMessage() + str(record.args) for record in caplog.records)
    assert caplog.records, "the gateway logs its requests"
    for value in secret_values:
        assert value not in logged


async def test_upstream_cookies_are_never_replayed() -> None:
    from veil.app import build_http_client
    from veil.config import Settings

    seen_cookies: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen_cookies.append(request.headers.get("cookie"))
        return httpx.Response(200, json={"data": []}, headers={"set-cookie": "session=tenant-a; Path=/"})

    client = build_http_client(Settings())
    client._transport = httpx.MockTransport(handler)
    await client.get("https://upstream.test/v1/models")
    await client.get("https://upstream.test/v1/models")
    assert seen_cookies == [None, None]
    await client.aclose()


async def test_truncated_stream_withholds_its_unfinished_tail(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    frame = b'data: {"choices": [{"index": 0, "delta": {"content": "Write to kim.park@exa"}}]}\n\n'
    upstream.reply = lambda body: Script(raw_stream=frame)
    response = await raw.post(
        CHAT, json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    )
    events = _events(response.content)
    assert "[DONE]" not in events, "a cut reply is no complete one"
    assert json.loads(events[-1])["error"]["code"] == "upstream_truncated"
    assert "kim.park" not in response.text


async def test_stream_without_done_but_finished_closes_normally(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    frames = (
        b'data: {"choices": [{"index": 0, "delta": {"content": "Hello there"}}]}\n\n'
        b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'
    )
    upstream.reply = lambda body: Script(raw_stream=frames)
    response = await raw.post(
        CHAT, json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    )
    events = _events(response.content)
    assert events[-1] == "[DONE]" and "error" not in response.text
    text = "".join(json.loads(e)["choices"][0]["delta"].get("content", "") for e in events[:-1])
    assert text == "Hello there"


async def test_an_unexpected_error_is_a_generic_500_that_logs_no_value(
    raw: httpx.AsyncClient,
    upstream: FakeUpstream,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import veil.proxy

    def crash(body: Any) -> Any:
        raise RuntimeError(f"cannot walk {body['messages'][0]['content']}")

    monkeypatch.setattr(veil.proxy, "text_slots", crash)
    caplog.set_level(logging.DEBUG)
    response = await raw.post(
        CHAT, json={"model": "m", "messages": [{"role": "user", "content": "x wu@example.com"}]}
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "wu@example.com" not in response.text
    assert "wu@example.com" not in caplog.text
    assert "RuntimeError" in caplog.text
    assert upstream.raw_requests == []
