"""Surrogates in whole and streamed replies, through the official SDK: wherever the model
writes the stand-in Veil sent, the client gets the real value back.

The policy gives every type with a surrogate maker a surrogate; the fake upstream answers
with what it was sent, written the way the model might write it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI
from starlette.applications import Starlette

from fake_upstream import FakeUpstream, Script, last_user_text
from sdk import sdk_client

PEOPLE = [
    "Ana Lima",
    "Bruno Costa",
    "Carla Souza",
    "Diego Alves",
    "Elena Rossi",
    "Felipe Moreira",
    "Gabriela Santos",
    "Hugo Pereira",
]
EMAIL = "ana.lima@corp.example"
PHONE = "+1 415-555-0134"


@pytest.fixture
def app(make_app: Callable[..., Starlette], tmp_path: Path) -> Starlette:
    policy = tmp_path / "policy.toml"
    policy.write_text('[default]\ndefault_action = "surrogate"\n')
    return make_app(policy_file=policy, ner_model="")


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[AsyncOpenAI]:
    openai_client = sdk_client(app)
    yield openai_client
    await openai_client.close()


def turkish_capitals(text: str) -> str:
    """`text` in capitals as Turkish writes them: a dotted capital I for i."""
    return text.replace("i", "İ").upper()


async def chat(client: AsyncOpenAI, text: str, *, stream: bool, **options: Any) -> Any:
    """The assistant's message (whole), or its content and tool arguments joined (streamed)."""
    messages: Any = [{"role": "user", "content": text}]
    if not stream:
        reply = await client.chat.completions.create(model="m", user="u", messages=messages, **options)
        return reply.choices[0].message
    chunks = await client.chat.completions.create(
        model="m", user="u", messages=messages, stream=True, **options
    )
    content, arguments = [], []
    async for chunk in chunks:
        for choice in chunk.choices:
            content.append(choice.delta.content or "")
            arguments += [call.function.arguments or "" for call in choice.delta.tool_calls or ()]
    return "".join(content), "".join(arguments)


async def responses(client: AsyncOpenAI, text: str, *, stream: bool) -> str:
    """The output text of a Responses API reply."""
    if not stream:
        return (await client.responses.create(model="m", user="u", input=text)).output_text
    events = await client.responses.create(model="m", user="u", input=text, stream=True)
    return "".join([e.delta async for e in events if e.type == "response.output_text.delta"])


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_surrogate_names_in_turkish_capitals_are_restored(
    client: AsyncOpenAI, upstream: FakeUpstream, stream: bool
) -> None:
    """A case-insensitive match that lowercasing does not undo ("LİNDA".lower() is not
    "linda") still finds its value: no 500, no stand-in left in the reply."""
    upstream.reply = lambda body: Script(contents=[turkish_capitals(last_user_text(body))])
    asked = ", ".join(PEOPLE)

    chat_reply = await chat(client, asked, stream=stream)
    responses_reply = await responses(client, asked, stream=stream)

    sent = upstream.bodies[0]["messages"][0]["content"]
    assert not any(person in sent for person in PEOPLE)
    assert "İ" in turkish_capitals(sent), "some stand-in has an i to capitalise"
    text = chat_reply[0] if stream else chat_reply.content
    assert text == responses_reply == asked


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_surrogate_right_after_a_json_escape_is_restored(
    client: AsyncOpenAI, upstream: FakeUpstream, stream: bool
) -> None:
    """In tool-call arguments and structured outputs a value often starts a line: the
    letter of `\\n` before it does not make it the end of a longer word."""

    def reply(body: dict[str, Any]) -> Script:
        name, email = last_user_text(body).split(" <")
        document = json.dumps({"to": email.rstrip(">"), "body": f"Hello,\n\n{name}\n\t{email.rstrip('>')}"})
        return Script(contents=[document], tool_calls=[{"name": "send_mail", "arguments": document}])

    upstream.reply = reply
    expected = {"to": EMAIL, "body": f"Hello,\n\nAna Lima\n\t{EMAIL}"}

    message = await chat(
        client, f"Ana Lima <{EMAIL}>", stream=stream, response_format={"type": "json_object"}
    )

    sent = upstream.bodies[0]["messages"][0]["content"]
    assert "Ana Lima" not in sent and EMAIL not in sent
    content, arguments = message if stream else (message.content, message.tool_calls[0].function.arguments)
    assert json.loads(content) == json.loads(arguments) == expected


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_phone_surrogate_in_brackets_is_restored_not_redacted(
    client: AsyncOpenAI, upstream: FakeUpstream, stream: bool
) -> None:
    """The reply's scan takes the opening bracket into the number it finds; the number is
    still the stand-in the request sent, so it is restored, not redacted as a new value."""
    upstream.reply = lambda body: Script(contents=[f"Call Ana ({last_user_text(body)}) today."])

    chat_reply = await chat(client, PHONE, stream=stream)
    responses_reply = await responses(client, PHONE, stream=stream)

    assert PHONE not in upstream.bodies[0]["messages"][0]["content"]
    text = chat_reply[0] if stream else chat_reply.content
    assert text == responses_reply == f"Call Ana ({PHONE}) today."
