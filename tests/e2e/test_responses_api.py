"""The Responses API through Veil with the official SDK: what the upstream saw, what the app
got back (whole, streamed, in every event that repeats a text), and what was recorded."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai import APIError, AsyncOpenAI, BadRequestError
from pydantic import BaseModel
from starlette.applications import Starlette

from e2e.test_chat_privacy import assert_unseen
from fake_upstream import FakeUpstream, Script
from sdk import sdk_client
from veil.store.schema import request_records

RESPONSES = "/v1/responses"
EMAIL = "jane.doe@example.com"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----"
)


def sse(body: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    """(event name, data) of each event of a Responses stream, as the client got it."""
    events = []
    for block in body.decode().split("\n\n"):
        lines = block.split("\n")
        name = next((line[len("event: ") :] for line in lines if line.startswith("event: ")), None)
        data = "\n".join(line[len("data: ") :] for line in lines if line.startswith("data: "))
        if data:
            events.append((name, json.loads(data)))
    return events


def of_type(events: list[tuple[str | None, dict[str, Any]]], kind: str) -> list[dict[str, Any]]:
    return [data for _, data in events if data.get("type") == kind]


def deltas(events: list[tuple[str | None, dict[str, Any]]], kind: str = "response.output_text.delta") -> str:
    return "".join(data["delta"] for data in of_type(events, kind))


async def mint(raw: httpx.AsyncClient, text: str) -> None:
    """One request that makes the scope's tokens for the values in `text`."""
    response = await raw.post(RESPONSES, json={"model": "m", "input": text})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "value", [EMAIL, "+44 20 7946 0958", "4111 1111 1111 1111", "DE89370400440532013000", "078-05-1121"]
)
async def test_value_never_reaches_upstream_and_comes_back(
    client: AsyncOpenAI, upstream: FakeUpstream, value: str
) -> None:
    prompt = f"Please file this: {value} thanks"
    reply = await client.responses.create(model="gpt-test", input=prompt, instructions=f"The user is {value}")

    assert_unseen(upstream, value)
    sent = upstream.bodies[0]
    assert "_1>" in sent["input"] and "_1>" in sent["instructions"]
    assert upstream.paths[0] == "https://upstream.test/v1/responses"
    assert reply.output_text == f"You said: {prompt}"
    assert reply.instructions == f"The user is {value}", "the echoed instructions are restored too"


async def test_every_string_of_a_responses_request_is_pseudonymized(
    client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    items: list[dict[str, Any]] = [
        {"role": "system", "content": f"Escalate to {EMAIL}"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": f"I am {EMAIL}"}]},
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "lookup",
            "arguments": json.dumps({"email": EMAIL}),
        },
        {"type": "function_call_output", "call_id": "call_1", "output": json.dumps({"found": EMAIL})},
        {
            "role": "assistant",
            "content": [{"type": "output_text", "text": f"Found {EMAIL}", "annotations": []}],
        },
        {"role": "user", "content": "thanks"},
    ]
    tools = [
        {
            "type": "function",
            "name": "lookup",
            "description": f"Looks up people; the admin is {EMAIL}",
            "parameters": {
                "type": "object",
                "properties": {"email": {"type": "string", "description": f"e.g. {EMAIL}"}},
            },
        }
    ]
    schema = {
        "type": "object",
        "properties": {"summary": {"type": "string", "description": f"mention {EMAIL}"}},
        "required": ["summary"],
        "additionalProperties": False,
    }
    await client.responses.create(
        model="gpt-test",
        input=items,  # type: ignore[arg-type]
        tools=tools,  # type: ignore[arg-type]
        instructions=f"Help {EMAIL}",
        text={"format": {"type": "json_schema", "name": "person_note", "schema": schema, "strict": True}},
        tool_choice={"type": "function", "name": "lookup"},
        extra_body={"session_note": f"from {EMAIL}"},
    )

    assert_unseen(upstream, EMAIL)
    body = upstream.bodies[0]
    token = "<EMAIL_ADDRESS_1>"
    assert body["instructions"] == f"Help {token}"
    assert body["input"][1]["content"][0]["text"] == f"I am {token}"
    call, output = body["input"][2], body["input"][3]
    assert (call["id"], call["call_id"], call["name"]) == ("fc_1", "call_1", "lookup")
    assert json.loads(call["arguments"]) == {"email": token}
    assert json.loads(output["output"]) == {"found": token} and output["call_id"] == "call_1"
    assert body["tools"][0]["name"] == "lookup"
    assert body["tools"][0]["parameters"]["properties"]["email"]["description"] == f"e.g. {token}"
    assert body["text"]["format"]["name"] == "person_note"
    assert body["text"]["format"]["schema"]["properties"]["summary"]["description"] == f"mention {token}"
    assert body["tool_choice"] == {"type": "function", "name": "lookup"}
    assert body["session_note"] == f"from {token}"


async def test_streamed_text_is_restored_in_deltas_and_in_every_event_that_repeats_it(
    client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    prompt = f"Write to {EMAIL} and call +44 20 7946 0958 today"
    expected = f"You said: {prompt}"
    async with client.responses.stream(model="gpt-test", input=prompt, instructions=f"for {EMAIL}") as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()

    assert_unseen(upstream, EMAIL)
    streamed = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert streamed == expected
    assert len([e for e in events if e.type == "response.output_text.delta" and e.delta]) > 3
    (done,) = [e for e in events if e.type == "response.output_text.done"]
    assert done.text == expected
    (part,) = [e for e in events if e.type == "response.content_part.done"]
    assert part.part.text == expected  # type: ignore[union-attr]
    (item,) = [e for e in events if e.type == "response.output_item.done"]
    assert item.item.content[0].text == expected  # type: ignore[union-attr]
    assert final.output_text == expected
    assert final.instructions == f"for {EMAIL}"
    numbers = [e.sequence_number for e in events]
    assert numbers == list(range(len(events))), "renumbered, strictly increasing"


async def test_events_keep_their_names(raw: httpx.AsyncClient) -> None:
    response = await raw.post(RESPONSES, json={"model": "m", "input": f"hi {EMAIL}", "stream": True})
    events = sse(response.content)
    assert all(name == data["type"] for name, data in events)
    assert events[0][1]["type"] == "response.created" and events[-1][1]["type"] == "response.completed"
    assert "[DONE]" not in response.text


SPLIT_REPLY = "Mail <EMAIL_ADDRESS_1> now"


@pytest.mark.parametrize("cut", range(len(SPLIT_REPLY) + 1))
async def test_a_token_split_across_two_deltas_is_restored_whole(
    raw: httpx.AsyncClient, upstream: FakeUpstream, cut: int
) -> None:
    await mint(raw, f"I am {EMAIL}")
    upstream.reply = lambda body: Script(
        contents=[SPLIT_REPLY], pieces=[SPLIT_REPLY[:cut], SPLIT_REPLY[cut:]]
    )
    response = await raw.post(RESPONSES, json={"model": "m", "input": "x", "stream": True})
    events = sse(response.content)
    expected = f"Mail {EMAIL} now"
    assert deltas(events) == expected
    assert of_type(events, "response.output_text.done")[0]["text"] == expected
    assert of_type(events, "response.completed")[0]["response"]["output"][0]["content"][0]["text"] == expected
    assert "EMAIL_ADDRESS" not in response.text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.sets(st.integers(1, len(SPLIT_REPLY) - 1), max_size=6))
async def test_a_token_split_anywhere_across_many_deltas_is_restored_whole(
    make_app: Callable[..., Starlette], upstream: FakeUpstream, cuts: set[int]
) -> None:
    bounds = [0, *sorted(cuts), len(SPLIT_REPLY)]
    pieces = [SPLIT_REPLY[a:b] for a, b in itertools.pairwise(bounds)]
    upstream.reply = lambda body: Script(contents=[SPLIT_REPLY], pieces=pieces)
    async with sdk_client(make_app(vault="memory")) as client:
        await client.responses.create(model="m", input=f"I am {EMAIL}")
        async with client.responses.stream(model="m", input="x") as stream:
            streamed = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
            final = await stream.get_final_response()
    assert streamed == final.output_text == f"Mail {EMAIL} now"


NEW_VALUE_REPLY = "Contact zed.new@example.org today"


@pytest.mark.parametrize("cut", range(len(NEW_VALUE_REPLY) + 1))
async def test_a_value_the_caller_never_sent_is_redacted_across_deltas(
    raw: httpx.AsyncClient, upstream: FakeUpstream, cut: int
) -> None:
    text = NEW_VALUE_REPLY
    upstream.reply = lambda body: Script(contents=[text], pieces=[text[:cut], text[cut:]])
    response = await raw.post(RESPONSES, json={"model": "m", "input": "who?", "stream": True})
    events = sse(response.content)
    expected = "Contact [REDACTED_EMAIL_ADDRESS] today"
    assert deltas(events) == expected
    assert of_type(events, "response.output_text.done")[0]["text"] == expected
    assert of_type(events, "response.content_part.done")[0]["part"]["text"] == expected
    assert of_type(events, "response.output_item.done")[0]["item"]["content"][0]["text"] == expected
    assert "zed.new" not in response.text and "example.org" not in response.text


async def test_whole_reply_redacts_a_new_value_and_says_so(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.reply = lambda body: Script(contents=[NEW_VALUE_REPLY])
    response = await raw.post(RESPONSES, json={"model": "m", "input": "who?"})
    assert response.json()["output"][0]["content"][0]["text"] == "Contact [REDACTED_EMAIL_ADDRESS] today"
    assert response.headers["x-veil-response-redactions"] == "EMAIL_ADDRESS=1"


ARGUMENTS = '{"to": "<EMAIL_ADDRESS_1>", "key": "<PRIVATE_KEY_1>", "note": "hi <PERSON_9>"}'


@pytest.mark.parametrize("chunk", [1, 2, 5, 200])
async def test_function_call_arguments_are_restored_as_valid_json(
    client: AsyncOpenAI, upstream: FakeUpstream, chunk: int
) -> None:
    await client.responses.create(model="m", input=f"Mail {EMAIL} my key {PEM}")
    upstream.reply = lambda body: Script(
        contents=[""], tool_calls=[{"name": "send", "arguments": ARGUMENTS}], chunk=chunk
    )
    expected = {"to": EMAIL, "key": PEM, "note": "hi <PERSON_9>"}

    whole = await client.responses.create(model="m", input="go")
    (call,) = [item for item in whole.output if item.type == "function_call"]
    assert (call.name, call.call_id) == ("send", "call_0")
    assert json.loads(call.arguments) == expected

    async with client.responses.stream(model="m", input="go") as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    streamed = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert json.loads(streamed) == expected
    (done,) = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert done.arguments == streamed
    (item,) = [e.item for e in events if e.type == "response.output_item.done"]
    assert item.arguments == streamed  # type: ignore[union-attr]
    (final_call,) = [item for item in final.output if item.type == "function_call"]
    assert final_call.arguments == streamed


async def test_a_refusal_is_restored(client: AsyncOpenAI, upstream: FakeUpstream) -> None:
    await client.responses.create(model="m", input=f"I am {EMAIL}")
    upstream.reply = lambda body: Script(contents=["Sorry."], refusal="I will not email <EMAIL_ADDRESS_1>.")
    whole = await client.responses.create(model="m", input="go")
    assert whole.output[0].content[1].refusal == f"I will not email {EMAIL}."  # type: ignore[union-attr]
    async with client.responses.stream(model="m", input="go") as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    streamed = "".join(e.delta for e in events if e.type == "response.refusal.delta")
    assert streamed == f"I will not email {EMAIL}."
    (done,) = [e for e in events if e.type == "response.refusal.done"]
    assert done.refusal == streamed
    assert final.output[0].content[1].refusal == streamed  # type: ignore[union-attr]


class Contact(BaseModel):
    email: str
    key: str
    note: str


STRUCTURED = '{"email": "<EMAIL_ADDRESS_1>", "key": "<PRIVATE_KEY_1>", "note": "said \\"hi\\""}'


async def test_structured_output_stays_valid_json(client: AsyncOpenAI, upstream: FakeUpstream) -> None:
    await client.responses.create(model="m", input=f"I am {EMAIL}, key {PEM}")
    upstream.reply = lambda body: Script(contents=[STRUCTURED], chunk=4)
    expected = Contact(email=EMAIL, key=PEM, note='said "hi"')

    parsed = await client.responses.parse(model="m", input="who am I?", text_format=Contact)
    assert parsed.output_parsed == expected
    assert upstream.bodies[-1]["text"]["format"]["type"] == "json_schema"

    async with client.responses.stream(model="m", input="who am I?", text_format=Contact) as stream:
        events = [event async for event in stream]
        final = await stream.get_final_response()
    assert Contact.model_validate_json(
        "".join(e.delta for e in events if e.type == "response.output_text.delta")
    )
    assert final.output_parsed == expected

    # Without a JSON format, the same reply is plain text: values go in as they are.
    plain = await client.responses.create(model="m", input="who am I?")
    assert PEM in plain.output_text


async def test_provider_store_is_forced_false_unless_the_user_agreed(
    app: Starlette, client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    await client.responses.create(
        model="m", input="hi", store=True, metadata={"ticket": EMAIL}, safety_identifier="alice"
    )
    assert upstream.bodies[-1]["store"] is False and "metadata" not in upstream.bodies[-1]
    assert upstream.bodies[-1]["safety_identifier"] != "alice"

    app.state.consents.set(app.state.scopes.subject_scope("alice"), "provider_retention", True, source="api")
    await client.responses.create(
        model="m", input="hi", store=True, metadata={"ticket": EMAIL}, safety_identifier="alice"
    )
    assert upstream.bodies[-1]["store"] is True
    assert upstream.bodies[-1]["metadata"] == {"ticket": "<EMAIL_ADDRESS_1>"}
    assert_unseen(upstream, EMAIL)


@pytest.mark.parametrize(
    ("param", "value"),
    [("previous_response_id", "resp_123"), ("conversation", "conv_123"), ("background", True)],
)
async def test_provider_state_needs_provider_retention(
    app: Starlette, client: AsyncOpenAI, upstream: FakeUpstream, param: str, value: Any
) -> None:
    with pytest.raises(BadRequestError) as raised:
        await client.responses.create(
            model="m", input=f"again {EMAIL}", extra_body={param: value}, user="bob"
        )
    error = raised.value.body
    assert isinstance(error, dict) and error["param"] == param
    assert "provider_retention" in error["message"] and EMAIL not in str(error)
    assert upstream.raw_requests == [], "nothing forwarded"
    with app.state.database.read() as conn:
        (row,) = conn.execute(sa.select(request_records)).all()
    assert (row.endpoint, row.status) == ("responses", 400)

    app.state.consents.set(app.state.scopes.subject_scope("bob"), "provider_retention", True, source="api")
    if param == "previous_response_id":
        value = (await client.responses.create(model="m", input="first", user="bob")).id
    await client.responses.create(model="m", input=f"again {EMAIL}", extra_body={param: value}, user="bob")
    assert upstream.bodies[-1][param] == value
    assert "store" not in upstream.bodies[-1]


async def test_an_item_reference_needs_provider_retention(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    items = [{"role": "user", "content": "hi"}, {"type": "item_reference", "id": "msg_1"}]
    response = await raw.post(RESPONSES, json={"model": "m", "input": items})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input[1]"
    assert upstream.raw_requests == []


async def test_previous_response_id_chains_when_the_provider_may_keep_responses(
    app: Starlette, client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    app.state.consents.set(app.state.scopes.subject_scope("erin"), "provider_retention", True, source="api")
    first = await client.responses.create(model="m", input=f"I am {EMAIL}", safety_identifier="erin")
    second = await client.responses.create(
        model="m", input="Who am I?", previous_response_id=first.id, safety_identifier="erin"
    )
    third = await client.responses.create(
        model="m", input=f"Still {EMAIL}?", previous_response_id=second.id, safety_identifier="erin"
    )
    assert third.output_text == f"You said: Still {EMAIL}?"
    # Tokens are stable per subject: the turns the provider holds and the one sent now agree.
    assert [b["input"] for b in upstream.bodies] == [
        "I am <EMAIL_ADDRESS_1>",
        "Who am I?",
        "Still <EMAIL_ADDRESS_1>?",
    ]
    assert_unseen(upstream, EMAIL)

    # A response the client itself asked not to store cannot be chained to: the provider
    # says so, and Veil passes its error on.
    unstored = await client.responses.create(model="m", input="x", store=False, safety_identifier="erin")
    with pytest.raises(BadRequestError) as raised:
        await client.responses.create(
            model="m", input="y", previous_response_id=unstored.id, safety_identifier="erin"
        )
    assert raised.value.code == "previous_response_not_found"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"model": 3, "input": "x"}, "model"),
        ({"model": "m", "input": 3}, "input"),
        ({"model": "m", "input": ["just a string"]}, "input[0]"),
        ({"model": "m", "input": "x", "instructions": ["a"]}, "instructions"),
        ({"model": "m", "input": "x", "tools": {"type": "function"}}, "tools"),
        ({"model": "m", "input": "x", "tools": ["lookup"]}, "tools[0]"),
        ({"model": "m", "input": "x", "text": "json"}, "text"),
        ({"model": "m", "input": "x", "stream": "yes"}, "stream"),
    ],
)
async def test_bad_input_is_a_clear_400(
    raw: httpx.AsyncClient, upstream: FakeUpstream, body: dict[str, Any], param: str
) -> None:
    response = await raw.post(RESPONSES, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert upstream.raw_requests == []


async def test_upstream_errors_pass_through_with_their_values_restored(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.reply = lambda body: Script(
        status=400, error={"message": f"bad input: {body['input']}", "param": "input"}
    )
    for stream in (False, True):
        response = await raw.post(RESPONSES, json={"model": "m", "input": f"x {EMAIL}", "stream": stream})
        assert response.status_code == 400
        assert response.json()["error"]["message"] == f"bad input: x {EMAIL}"


async def test_a_cut_stream_withholds_its_unfinished_text(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    created = {"type": "response.created", "sequence_number": 0, "response": {"id": "resp_1", "output": []}}
    delta = {
        "type": "response.output_text.delta",
        "sequence_number": 1,
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Write to kim.park@exa",
    }
    frames = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in (created, delta))
    upstream.reply = lambda body: Script(raw_stream=frames)
    response = await raw.post(RESPONSES, json={"model": "m", "input": "x", "stream": True})
    events = sse(response.content)
    assert events[-1][1]["type"] == "error" and events[-1][1]["code"] == "upstream_truncated"
    assert events[-1][1]["error"]["code"] == "upstream_truncated"
    assert "kim.park" not in response.text
    assert not of_type(events, "response.completed")


@pytest.mark.parametrize("status", ["incomplete", "failed"])
async def test_other_terminal_events_end_the_stream_restored(
    raw: httpx.AsyncClient, upstream: FakeUpstream, status: str
) -> None:
    upstream.reply = lambda body: Script(contents=["Mail <EMAIL_ADDRESS_1> n"], response_status=status)
    await mint(raw, f"I am {EMAIL}")
    response = await raw.post(RESPONSES, json={"model": "m", "input": "x", "stream": True})
    events = sse(response.content)
    assert events[-1][0] == f"response.{status}"
    assert events[-1][1]["response"]["output"][0]["content"][0]["text"] == f"Mail {EMAIL} n"


async def test_the_terminal_event_waits_for_the_record(
    make_app: Callable[..., Starlette], upstream: FakeUpstream
) -> None:
    app = make_app()
    with app.state.database.write() as conn:
        conn.execute(sa.text("DROP TABLE request_records"))
    async with sdk_client(app) as client:
        response = await client.responses.with_raw_response.create(model="m", input="hi", stream=True)
        events = sse(await response.http_response.aread())
        stream = await client.responses.create(model="m", input="hi", stream=True)
        with pytest.raises(APIError) as raised:
            async for _ in stream:
                pass
    assert not of_type(events, "response.completed"), "the client saw its reply end, yet nothing was recorded"
    assert events[-1][1]["type"] == "error" and events[-1][1]["code"] == "storage_unavailable"
    assert raised.value.code == "storage_unavailable"


async def test_records_and_audit_entries_name_the_endpoint(app: Starlette, client: AsyncOpenAI) -> None:
    await client.responses.create(model="gpt-test", input=f"hi {EMAIL}", user="carol")
    async with client.responses.stream(model="gpt-test", input=f"hi {EMAIL}", user="carol") as stream:
        async for _ in stream:
            pass
    with app.state.database.read() as conn:
        rows = conn.execute(sa.select(request_records).order_by(request_records.c.created_at)).all()
    assert [(r.endpoint, r.stream, r.status, r.model) for r in rows] == [
        ("responses", False, 200, "gpt-test"),
        ("responses", True, 200, "gpt-test"),
    ]
    assert [(r.prompt_tokens, r.completion_tokens) for r in rows] == [(11, 13), (11, 13)]
    assert all(r.entities["request"] == {"EMAIL_ADDRESS": 1} for r in rows)
    entries = app.state.audit.entries_of(app.state.scopes.subject_scope("carol"))
    requests = [e["data"] for e in entries if e["kind"] == "request"]
    assert [(d["endpoint"], d["status"], d["entities"]["request"]) for d in requests] == [
        ("responses", 200, {"EMAIL_ADDRESS": 1}),
        ("responses", 200, {"EMAIL_ADDRESS": 1}),
    ]
