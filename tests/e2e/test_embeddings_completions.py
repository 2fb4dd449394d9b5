"""Embeddings, legacy completions and chat structured outputs through Veil with the official
SDK: what the upstream saw, what the app got back, and what was recorded."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from openai import AsyncOpenAI
from pydantic import BaseModel
from starlette.applications import Starlette

from e2e.test_chat_privacy import assert_unseen
from fake_upstream import FakeUpstream, Script, _vector
from veil.store.schema import request_records

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----"
)


def records(app: Starlette) -> list[sa.Row[Any]]:
    with app.state.database.read() as conn:
        return list(conn.execute(sa.select(request_records).order_by(request_records.c.created_at)).all())


def sse_data(body: bytes) -> list[str]:
    return [line[len("data: ") :] for line in body.decode().split("\n") if line.startswith("data: ")]


async def test_embedding_inputs_are_pseudonymized_and_vectors_pass(
    app: Starlette, client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    texts = [f"customer {EMAIL}", f"card {CARD}", "nothing personal"]
    single = await client.embeddings.create(model="text-embedding-3-small", input=texts[0])
    many = await client.embeddings.create(model="text-embedding-3-small", input=texts, user="dana")

    assert_unseen(upstream, EMAIL)
    assert_unseen(upstream, CARD)
    assert upstream.paths[-1] == "https://upstream.test/v1/embeddings"
    sent = upstream.bodies[-1]["input"]
    assert sent == ["customer <EMAIL_ADDRESS_1>", "card <CREDIT_CARD_1>", "nothing personal"]
    assert "store" not in upstream.bodies[-1], "embeddings take no `store`"
    # The SDK asks for base64 and decodes it: the vectors arrive as the provider made them.
    assert [d.embedding for d in many.data] == [pytest.approx(_vector(json.dumps(s)), abs=1e-6) for s in sent]
    assert single.data[0].embedding == pytest.approx(many.data[0].embedding)

    rows = records(app)
    assert [(r.endpoint, r.stream, r.status) for r in rows] == [("embeddings", False, 200)] * 2
    assert rows[-1].entities == {"request": {"EMAIL_ADDRESS": 1, "CREDIT_CARD": 1}, "response": {}}
    assert rows[-1].prompt_tokens == 12
    entries = app.state.audit.entries_of(app.state.scopes.subject_scope("dana"))
    assert [e["data"]["endpoint"] for e in entries if e["kind"] == "request"] == ["embeddings"]


async def test_embedding_token_arrays_pass_as_they_are(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    for tokens in ([1, 2, 3], [[1, 2, 3], [40, 50]]):
        response = await raw.post(
            "/v1/embeddings", json={"model": "e", "input": tokens, "encoding_format": "float"}
        )
        assert response.status_code == 200
        assert upstream.bodies[-1]["input"] == tokens
    assert len(response.json()["data"]) == 2


async def test_a_base64_vector_is_never_filtered(raw: httpx.AsyncClient, upstream: FakeUpstream) -> None:
    # A base64 string can look like a key or a card number to a detector; it is not text.
    vector = "QUtJQUlPU0ZPRE5ON0VYQU1QTEY0MTEx+AKIAIOSFODNN7EXAMPLF/4111111111111111/ZXhhbXBsZQ=="
    upstream.reply = lambda body: Script(embeddings=[vector])
    response = await raw.post(
        "/v1/embeddings", json={"model": "e", "input": "x", "encoding_format": "base64"}
    )
    assert response.json()["data"][0]["embedding"] == vector


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/embeddings", {"model": "e"}, "input"),
        ("/v1/embeddings", {"model": "e", "input": []}, "input"),
        ("/v1/embeddings", {"model": "e", "input": [1, "a"]}, "input"),
        ("/v1/embeddings", {"model": "e", "input": [True]}, "input"),
        ("/v1/embeddings", {"input": "x"}, "model"),
        ("/v1/completions", {"model": "m", "prompt": {"text": "x"}}, "prompt"),
        ("/v1/completions", {"model": "m", "prompt": "x", "suffix": 3}, "suffix"),
        ("/v1/completions", {"model": "m", "prompt": "x", "stream": 1}, "stream"),
        ("/v1/completions", {"prompt": "x"}, "model"),
    ],
)
async def test_bad_input_is_a_clear_400(
    raw: httpx.AsyncClient, upstream: FakeUpstream, path: str, body: dict[str, Any], param: str
) -> None:
    response = await raw.post(path, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", param)
    assert upstream.raw_requests == []


async def test_legacy_completion_is_restored_whole_and_streamed(
    app: Starlette, client: AsyncOpenAI, upstream: FakeUpstream
) -> None:
    prompt = f"Write to {EMAIL} about card {CARD}"
    whole = await client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt=prompt, suffix=f"Signed, {EMAIL}", n=2
    )
    assert [c.text for c in whole.choices] == [f"You said: {prompt}"] * 2
    assert upstream.bodies[-1]["suffix"] == "Signed, <EMAIL_ADDRESS_1>"
    assert "store" not in upstream.bodies[-1], "legacy completions take no `store`"

    stream = await client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt=[prompt], stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    streamed = "".join(c.choices[0].text for c in chunks if c.choices)
    assert streamed == f"You said: {prompt}"
    assert len([c for c in chunks if c.choices and c.choices[0].text]) > 3
    assert_unseen(upstream, EMAIL)
    assert_unseen(upstream, CARD)

    rows = records(app)
    assert [(r.endpoint, r.stream, r.prompt_tokens, r.completion_tokens) for r in rows] == [
        ("completions", False, 5, 7),
        ("completions", True, 5, 7),
    ]


async def test_legacy_prompt_token_arrays_pass_as_they_are(
    raw: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    upstream.reply = lambda body: Script(contents=["ok"])
    response = await raw.post("/v1/completions", json={"model": "m", "prompt": [[1, 2], [3]]})
    assert response.status_code == 200 and response.json()["choices"][0]["text"] == "ok"
    assert upstream.bodies[-1]["prompt"] == [[1, 2], [3]]


SPLIT_REPLY = "Mail <EMAIL_ADDRESS_1> now"


@pytest.mark.parametrize("cut", range(len(SPLIT_REPLY) + 1))
async def test_a_legacy_token_split_across_chunks_is_restored_whole(
    raw: httpx.AsyncClient, upstream: FakeUpstream, cut: int
) -> None:
    await raw.post("/v1/completions", json={"model": "m", "prompt": f"I am {EMAIL}"})
    upstream.reply = lambda body: Script(
        contents=[SPLIT_REPLY], pieces=[SPLIT_REPLY[:cut], SPLIT_REPLY[cut:]]
    )
    response = await raw.post("/v1/completions", json={"model": "m", "prompt": "x", "stream": True})
    payloads = sse_data(response.content)
    assert payloads[-1] == "[DONE]" and payloads.count("[DONE]") == 1
    text = "".join(c["text"] for p in payloads[:-1] for c in json.loads(p)["choices"])
    assert text == f"Mail {EMAIL} now"


class Contact(BaseModel):
    email: str
    key: str
    note: str


STRUCTURED = '{"email": "<EMAIL_ADDRESS_1>", "key": "<PRIVATE_KEY_1>", "note": "said \\"hi\\""}'


async def test_chat_structured_output_stays_valid_json(client: AsyncOpenAI, upstream: FakeUpstream) -> None:
    await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"I am {EMAIL}, {PEM}"}]
    )
    upstream.reply = lambda body: Script(contents=[STRUCTURED], chunk=2)
    expected = Contact(email=EMAIL, key=PEM, note='said "hi"')
    ask = [{"role": "user", "content": "who am I?"}]

    parsed = await client.chat.completions.parse(model="m", messages=ask, response_format=Contact)  # type: ignore[arg-type]
    assert parsed.choices[0].message.parsed == expected
    assert upstream.bodies[-1]["response_format"]["type"] == "json_schema"

    stream = await client.chat.completions.create(
        model="m",
        messages=ask,  # type: ignore[arg-type]
        response_format={"type": "json_object"},
        stream=True,
    )
    streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert Contact.model_validate_json(streamed) == expected

    # Without a JSON format the reply is text: the key goes in as it is, line breaks and all.
    plain = await client.chat.completions.create(model="m", messages=ask)  # type: ignore[arg-type]
    assert PEM in (plain.choices[0].message.content or "")
