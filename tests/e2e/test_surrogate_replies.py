"""Surrogates in whole and streamed replies, through the official SDK: wherever the model
writes the stand-in Veil sent, the client gets the real value back.

The policy gives every type with a surrogate maker a surrogate; the fake upstream answers
with what it was sent, written the way the model might write it.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI
from starlette.applications import Starlette

from fake_upstream import FakeUpstream, Script, last_user_text
from sdk import sdk_client
from veil.detect.wordlist import data_words

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


def everyday_words() -> list[str]:
    """The words of the lists of given names that are also words, and of function words."""
    return [
        *data_words("common_word_names.txt"),
        *data_words("never_alone_names.txt"),
        *data_words("not_name_words.txt"),
    ]


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_everyday_words_in_a_reply_are_never_taken_for_stand_ins(
    client: AsyncOpenAI, upstream: FakeUpstream, stream: bool
) -> None:
    """A stand-in "Don" or "Mark" would make "Don't" and "mark the box" the caller's
    names: a hundred and twenty given names go out, and a reply in everyday words comes
    back as written."""
    words = everyday_words()
    common = set(words)
    names = [n.title() for n in data_words("first_names.txt")[1000:] if n not in common][:120]
    everyday = " ".join(f"{w} {w.title()} {w.title()}'t" for w in words)
    upstream.reply = lambda body: Script(contents=[f"{last_user_text(body)}\n{everyday}"], chunk=40)
    asked = "Please invite " + ", ".join(names) + "."

    chat_reply = await chat(client, asked, stream=stream)

    sent = upstream.bodies[0]["messages"][0]["content"]
    assert len(set(names) & set(re.findall(r"\w+", sent))) < 10, "the names went out as stand-ins"
    text = chat_reply[0] if stream else chat_reply.content
    assert text == f"{asked}\n{everyday}"


def stand_in(body: dict[str, Any]) -> tuple[str, str]:
    """The given name and surname Veil sent for "Linda Smith"."""
    sent = re.fullmatch(r"Please email (\w+) (\w+) about it\.", last_user_text(body))
    assert sent is not None, "Linda Smith went out as a given name and a surname"
    return sent.group(1), sent.group(2)


def other_surname(stand_in_surname: str) -> str:
    """Another person's surname: never the stand-in's own, which would make the stand-in whole."""
    return "Costa" if stand_in_surname != "Costa" else "Okafor"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_stand_ins_given_name_or_surname_alone_is_restored(
    client: AsyncOpenAI, upstream: FakeUpstream, stream: bool
) -> None:
    """A model that calls "Linda Smith" by one of the stand-in's names still gives the
    client Linda's; another person sharing the stand-in's given name stays who they are."""

    def reply(body: dict[str, Any]) -> Script:
        first, last = stand_in(body)
        said = f"{first} said {last}'s draft is ready; {first} {last} signs."
        return Script(contents=[f"{said} {first} {other_surname(last)} too. Thanks, {first.upper()}!"])

    upstream.reply = reply
    asked = "Please email Linda Smith about it."

    chat_reply = await chat(client, asked, stream=stream)
    responses_reply = await responses(client, asked, stream=stream)

    first, last = stand_in(upstream.bodies[0])
    text = chat_reply[0] if stream else chat_reply.content
    assert text == responses_reply
    signed = "Linda said Smith's draft is ready; Linda Smith signs."
    assert text == f"{signed} {first} {other_surname(last)} too. Thanks, Linda!"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_stand_in_in_markdown_emphasis_is_restored_not_in_an_identifier(
    client: AsyncOpenAI, upstream: FakeUpstream, stream: bool
) -> None:
    def reply(body: dict[str, Any]) -> Script:
        first, last = stand_in(body)
        slug = f"{first}_{last}".lower()
        return Script(contents=[f"_{first} {last}_ approved; **__{last}__** too. Ticket {slug}_id stays."])

    upstream.reply = reply

    chat_reply = await chat(client, "Please email Linda Smith about it.", stream=stream)

    slug = "_".join(stand_in(upstream.bodies[0])).lower()
    text = chat_reply[0] if stream else chat_reply.content
    assert text == f"_Linda Smith_ approved; **__Smith__** too. Ticket {slug}_id stays."
