"""Streams cut at any byte: chat completions and the Responses API.

The upstream's reply (tokens Veil restores, and an address the caller never sent, which
response scanning redacts) is cut after every byte in turn (the full profile) or after a
sample of them (the short one). Whatever the cut, what the client gets is well-formed
(every event parses), is a prefix of the uncut reply, never ends inside a value, never
shows a token or the unsent address. When the cut made Veil withhold text the upstream had
sent, the stream ends with an `upstream_truncated` error; a stream cut before any text
came ends with nothing to withhold and no completion either.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from stress_profiles import Profile

from fake_upstream import FakeUpstream, Script

USER = "cut-streams"
VALUES = ("ana@example.com", "+1 415-555-0134")
REPLY = "Write to <EMAIL_ADDRESS_1> or call <PHONE_NUMBER_1> today; kim.park@example.org knows."
UNSENT = "kim.park"


async def upstream_bytes(path: str, body: dict[str, Any]) -> bytes:
    """The fake upstream's whole SSE reply, as it would put it on the wire."""
    source = FakeUpstream(lambda body: Script(contents=[REPLY], chunk=5))
    async with httpx.AsyncClient(transport=source.transport(), base_url="https://upstream.test/v1") as http:
        return (await http.post(path, json=body)).content


def client_events(raw: bytes) -> list[tuple[str | None, Any]]:
    """(event name, parsed data) of each event the client got; `[DONE]` stays a string."""
    events: list[tuple[str | None, Any]] = []
    for block in raw.decode().split("\n\n"):
        lines = block.split("\n")
        if not any(lines):
            continue
        name = next((line.removeprefix("event: ") for line in lines if line.startswith("event: ")), None)
        data = "\n".join(line.removeprefix("data: ") for line in lines if line.startswith("data: "))
        events.append((name, data if data == "[DONE]" else json.loads(data)))
    return events


def chat_text(events: list[tuple[str | None, Any]]) -> str:
    return "".join(
        choice["delta"].get("content") or ""
        for _, event in events
        if isinstance(event, dict)
        for choice in event.get("choices", ())
    )


def responses_text(events: list[tuple[str | None, Any]]) -> str:
    return "".join(event["delta"] for _, event in events if event.get("type") == "response.output_text.delta")


def upstream_text(raw: bytes, text_of: Callable[[list[tuple[str | None, Any]]], str]) -> str:
    """The text in the complete events of a (cut) upstream stream, tokens and all."""
    complete = raw.replace(b"\r\n", b"\n").split(b"\n\n")[:-1]
    return text_of(client_events(b"\n\n".join(complete) + b"\n\n")) if complete else ""


def chat_error(events: list[tuple[str | None, Any]]) -> str | None:
    errors = [event["error"]["code"] for _, event in events if isinstance(event, dict) and "error" in event]
    return errors[-1] if errors else None


def responses_error(events: list[tuple[str | None, Any]]) -> str | None:
    errors = [event["code"] for _, event in events if event.get("type") == "error"]
    return errors[-1] if errors else None


def finished(events: list[tuple[str | None, Any]]) -> bool:
    """Whether the client was told the reply is complete."""
    return any(
        isinstance(event, dict)
        and (
            event.get("type") == "response.completed"
            or any(choice.get("finish_reason") for choice in event.get("choices", ()))
        )
        for _, event in events
    )


CHAT = (
    "/chat/completions",
    {"model": "m", "stream": True, "user": USER, "messages": [{"role": "user", "content": "x"}]},
    chat_text,
    chat_error,
)
RESPONSES = (
    "/responses",
    {"model": "m", "stream": True, "user": USER, "input": "x"},
    responses_text,
    responses_error,
)


@pytest.mark.parametrize(
    ("path", "body", "text_of", "error_of"), [CHAT, RESPONSES], ids=["chat", "responses"]
)
async def test_a_stream_cut_anywhere(
    profile: Profile,
    make_rules_app: Callable[..., Starlette],
    upstream: FakeUpstream,
    path: str,
    body: dict[str, Any],
    text_of: Callable[[list[tuple[str | None, Any]]], str],
    error_of: Callable[[list[tuple[str | None, Any]]], str | None],
) -> None:
    raw = await upstream_bytes(path, body)
    app = make_rules_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test") as veil:
        minted = await veil.post(
            "/v1/chat/completions",
            json={"model": "m", "user": USER, "messages": [{"role": "user", "content": " or ".join(VALUES)}]},
        )
        assert minted.status_code == 200
        assert upstream.bodies[-1]["messages"][0]["content"] == "<EMAIL_ADDRESS_1> or <PHONE_NUMBER_1>"

        async def relay(cut: int) -> list[tuple[str | None, Any]]:
            upstream.reply = lambda body: Script(raw_stream=raw[:cut])
            response = await veil.post("/v1" + path, json=body)
            assert response.status_code == 200
            assert UNSENT not in response.text and "<EMAIL" not in response.text
            return client_events(response.content)

        whole = text_of(await relay(len(raw)))
        assert whole.startswith("Write to ana@example.com or call +1 415-555-0134 today; ")
        assert whole.endswith(" knows.")
        spans = [(whole.index(value), whole.index(value) + len(value)) for value in VALUES]

        cuts = range(len(raw)) if profile.full else random.Random(7).sample(range(len(raw)), 40)
        for cut in cuts:
            events = await relay(cut)
            text = text_of(events)
            assert whole.startswith(text), cut
            assert not any(start < len(text) < end for start, end in spans), (cut, text)
            if text == whole:
                continue
            if upstream_text(raw[:cut], text_of):
                assert error_of(events) == "upstream_truncated", (cut, events[-2:])
            else:
                assert text == "" and not finished(events), (cut, events)
