"""The official SDK through Veil: what the upstream saw, and what the app got back."""

from __future__ import annotations

import asyncio
import json
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from openai import AsyncOpenAI

from fake_upstream import FakeUpstream, Script

PII = [
    ("EMAIL_ADDRESS", "jane.doe@example.com"),
    ("PHONE_NUMBER", "+44 20 7946 0958"),
    ("PHONE_NUMBER", "(415) 555-2671"),
    ("CREDIT_CARD", "4111 1111 1111 1111"),
    ("IBAN_CODE", "DE89370400440532013000"),
    ("US_SSN", "078-05-1121"),
    ("IP_ADDRESS", "203.0.113.42"),
    ("IP_ADDRESS", "2001:db8::ff00:42:8329"),
    ("API_KEY", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z0AbCdEfGh"),
    ("API_KEY", "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"),
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLF"),
]


def _forms(value: str) -> list[bytes]:
    """A value as raw bytes, percent-encoded, and JSON-escaped (ASCII and not)."""
    return [
        value.encode(),
        urllib.parse.quote(value, safe="").encode(),
        json.dumps(value)[1:-1].encode(),
        json.dumps(value, ensure_ascii=True)[1:-1].encode(),
    ]


def assert_unseen(upstream: FakeUpstream, value: str) -> None:
    seen = upstream.seen()
    for form in _forms(value):
        assert form not in seen, f"a {len(value)}-char value reached the upstream"


@pytest.mark.parametrize(("entity_type", "value"), PII, ids=[f"{t}-{i}" for i, (t, _) in enumerate(PII)])
async def test_value_never_reaches_upstream_and_comes_back(
    client: AsyncOpenAI, upstream: FakeUpstream, entity_type: str, value: str
) -> None:
    prompt = f"Please file this: {value} thanks"
    reply = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )

    assert_unseen(upstream, value)
    sent = upstream.bodies[0]["messages"][0]["content"]
    assert f"<{entity_type}_1>" in sent
    assert reply.choices[0].message.content == f"You said: {prompt}"


@pytest.mark.parametrize(("entity_type", "value"), PII[:6])
async def test_streamed_reply_restores_value(
    client: AsyncOpenAI, upstream: FakeUpstream, entity_type: str, value: str
) -> None:
    prompt = f"Contact: {value}."
    stream = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}], stream=True
    )
    deltas = [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]
    assert_unseen(upstream, value)
    assert "".join(deltas) == f"You said: {prompt}"
    assert len([d for d in deltas if d]) > 3, "the reply must stay a stream of many events"


@pytest.mark.parametrize("marks", ["_", "__", "___"])
@pytest.mark.parametrize(("entity_type", "value"), PII, ids=[f"{t}-{i}" for i, (t, _) in enumerate(PII)])
async def test_values_in_markdown_emphasis_are_caught(
    client: AsyncOpenAI, upstream: FakeUpstream, entity_type: str, value: str, marks: str
) -> None:
    """`_value_`: the underscores are word characters, so they must not hide the value."""
    prompt = f"Please file this: {marks}{value}{marks} thanks"
    reply = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    assert_unseen(upstream, value)
    assert f"{marks}<{entity_type}_1>{marks}" in upstream.bodies[0]["messages"][0]["content"]
    assert reply.choices[0].message.content == f"You said: {prompt}"


async def test_percent_encoded_and_json_escaped_values_are_caught(
    client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    encoded = "https://crm.test/find?email=" + urllib.parse.quote("mary.major@example.org", safe="")
    escaped = '{"owner": "mary.major\\u0040example.org"}'
    prompt = f"{encoded} and {escaped}"
    reply = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}]
    )
    assert b"mary.major" not in upstream.seen()
    assert reply.choices[0].message.content == f"You said: {prompt}"


async def test_every_string_in_the_request_is_pseudonymized(
    client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    email = "sam.sample@example.net"
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": f"Escalate to {email}"},
        {"role": "developer", "content": f"Owner {email}"},
        {"role": "user", "name": "sam", "content": [{"type": "text", "text": f"I am {email}"}]},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": json.dumps({"email": email})},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": json.dumps({"found": email})},
        {"role": "user", "content": "thanks"},
    ]
    tools = [
        {
            "type": "function",
            "function": {
                "name": "lookup",
                "description": f"Looks up people; the admin is {email}",
                "parameters": {
                    "type": "object",
                    "properties": {"email": {"type": "string", "description": f"e.g. {email}"}},
                },
            },
        }
    ]
    await client.chat.completions.create(
        model="gpt-test",
        messages=messages,  # type: ignore[arg-type]
        tools=tools,  # type: ignore[arg-type]
        extra_body={"session_note": f"from {email}", "metadata": {"note": email}},
    )
    assert_unseen(upstream, email)
    body = upstream.bodies[0]
    assert body["model"] == "gpt-test"
    assert body["tools"][0]["function"]["name"] == "lookup"
    assert body["messages"][3]["tool_calls"][0]["id"] == "call_1"
    assert body["messages"][4]["tool_call_id"] == "call_1"
    assert json.loads(body["messages"][3]["tool_calls"][0]["function"]["arguments"]) == {
        "email": "<EMAIL_ADDRESS_1>"
    }
    assert body["session_note"] == "from <EMAIL_ADDRESS_1>"


async def test_tokens_are_stable_across_turns(client: AsyncOpenAI, upstream: FakeUpstream) -> None:
    history: list[dict[str, Any]] = []
    turns = [
        "My email is ann.lee@example.com and my card is 4242 4242 4242 4242.",
        "Also my colleague is bo.chen@example.com.",
        "Remind me of both emails: ann.lee@example.com and bo.chen@example.com",
    ]
    for text in turns:
        history.append({"role": "user", "content": text})
        reply = await client.chat.completions.create(model="gpt-test", messages=history)  # type: ignore[arg-type]
        history.append({"role": "assistant", "content": reply.choices[0].message.content})
    first, _, third = upstream.bodies
    assert third["messages"][0] == first["messages"][0]
    assert "<EMAIL_ADDRESS_1>" in first["messages"][0]["content"]
    assert third["messages"][4]["content"].endswith("<EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>")
    assert history[-1]["content"] == f"You said: {turns[2]}"


async def test_tool_call_arguments_are_restored_as_valid_json(
    upstream: FakeUpstream, make_client: Callable[..., AsyncOpenAI]
) -> None:
    def reply(body: dict[str, Any]) -> Script:
        return Script(
            contents=[""],
            tool_calls=[
                {"name": "send", "arguments": '{"to": "<EMAIL_ADDRESS_1>", "note": "hi <PERSON_9>"}'}
            ],
        )

    upstream.reply = reply
    client = make_client()
    for stream in (False, True):
        prompt = [{"role": "user", "content": "Mail ann.o@example.com please"}]
        if stream:
            chunks = await client.chat.completions.create(model="gpt-test", messages=prompt, stream=True)  # type: ignore[arg-type]
            arguments = "".join(
                [
                    c.choices[0].delta.tool_calls[0].function.arguments or ""
                    async for c in chunks
                    if c.choices and c.choices[0].delta.tool_calls
                ]
            )
        else:
            done = await client.chat.completions.create(model="gpt-test", messages=prompt)  # type: ignore[arg-type]
            arguments = done.choices[0].message.tool_calls[0].function.arguments  # type: ignore[union-attr]
        assert json.loads(arguments) == {"to": "ann.o@example.com", "note": "hi <PERSON_9>"}


async def test_n_choices_are_restored_independently(client: AsyncOpenAI) -> None:
    prompt = "ring +1 415-555-2671 or mail x.y@example.com"
    whole = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}], n=3
    )
    assert [c.message.content for c in whole.choices] == [f"You said: {prompt}"] * 3
    stream = await client.chat.completions.create(
        model="gpt-test", messages=[{"role": "user", "content": prompt}], n=2, stream=True
    )
    texts = ["", ""]
    async for chunk in stream:
        for choice in chunk.choices:
            texts[choice.index] += choice.delta.content or ""
    assert texts == [f"You said: {prompt}"] * 2


async def test_nothing_readable_on_disk(client: AsyncOpenAI, settings: Any) -> None:
    canaries = ["canary.person@example.org", "5105 1051 0510 5100", "AKIAZ7CANARY7EXAMPLE"]
    prompt = "remember " + ", ".join(canaries)
    await client.chat.completions.create(model="m", messages=[{"role": "user", "content": prompt}])
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": prompt}], stream=True
    )
    async for _ in stream:
        pass
    files = [path for path in settings.data_dir.rglob("*") if path.is_file()]
    assert any(path.name.startswith("veil.db") for path in files)
    for path in files:
        data = path.read_bytes()
        for canary in canaries:
            for form in _forms(canary):
                assert form not in data, f"a canary is readable in {path.name}"


async def test_a_token_restores_only_in_its_own_scope(client: AsyncOpenAI, upstream: FakeUpstream) -> None:
    await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "I am alice@example.com"}], user="alice"
    )
    assert upstream.bodies[0]["messages"][0]["content"] == "I am <EMAIL_ADDRESS_1>"
    # Bob sends Alice's token: he gets the token back, never her value.
    reply = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "who is <EMAIL_ADDRESS_1>?"}], user="bob"
    )
    assert reply.choices[0].message.content == "You said: who is <EMAIL_ADDRESS_1>?"
    # The same scope by header and by `user` is one scope; restarting keeps the tokens.
    header_client = client.with_options(default_headers={"X-Veil-Subject": "alice"})
    again = await header_client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "who is <EMAIL_ADDRESS_1>?"}]
    )
    assert again.choices[0].message.content == "You said: who is alice@example.com?"
    assert b"alice" not in b"".join(upstream.raw_headers)


async def test_tokens_survive_a_restart(
    make_client: Callable[..., AsyncOpenAI], upstream: FakeUpstream
) -> None:
    first = make_client()
    await first.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "x dan@example.com"}], user="u"
    )
    await first.close()
    second = make_client()  # a new app on the same data directory and key file
    await second.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "y dan@example.com"}], user="u"
    )
    await second.close()
    assert [b["messages"][0]["content"] for b in upstream.bodies] == [
        "x <EMAIL_ADDRESS_1>",
        "y <EMAIL_ADDRESS_1>",
    ]


async def test_the_reply_is_analysed_ahead_of_the_next_turn(app: Any, client: AsyncOpenAI) -> None:
    cache = app.state.analysis_cache
    history: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": "Please draft a note to Oluwaseun Adeyemi at seun.a@example.com about Lagos.",
        }
    ]
    for streamed in (False, True):
        if streamed:
            stream = await client.chat.completions.create(model="m", messages=history, stream=True)  # type: ignore[arg-type]
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        else:
            done = await client.chat.completions.create(model="m", messages=history)  # type: ignore[arg-type]
            text = done.choices[0].message.content or ""
        await asyncio.gather(*app.state.gateway._warming)
        history += [
            {"role": "assistant", "content": text},
            {
                "role": "user",
                "content": f"Now one for Siobhán Ó Briain in Galway, turn {len(history)}, thanks.",
            },
        ]
    misses_before = cache.misses
    await client.chat.completions.create(model="m", messages=history)  # type: ignore[arg-type]
    # Only the new user message was analysed on the request's path: both replies were hits.
    assert cache.misses == misses_before + 1
