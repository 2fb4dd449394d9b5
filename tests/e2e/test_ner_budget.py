"""The model reads a bounded amount of new text per request: more is a 413, never forwarded.

Without the bound one large body would hold the model, and every request behind it, for
minutes. Text seen before (earlier turns of a conversation) is a cache hit and does not count.
"""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest
from openai import AsyncOpenAI

from fake_upstream import FakeUpstream

LIMIT = 2000


def paragraph(n: int) -> str:
    """About 900 characters of prose naming a person, different for each `n`."""
    opening = f"Paragraph {n}: Margarethe Oyelaran-Quist wrote again about the harbour. "
    return opening + "The tide came in. " * 45


def turn(*ns: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": paragraph(n)} for n in ns]


async def test_too_much_new_text_is_a_413_and_nothing_is_forwarded(
    make_client: Callable[..., AsyncOpenAI], upstream: FakeUpstream
) -> None:
    client = make_client(ner_max_chars=LIMIT)
    with pytest.raises(openai.APIStatusError) as raised:
        await client.chat.completions.create(model="m", messages=turn(1, 2, 3))  # ~2,700 new characters
    assert raised.value.status_code == 413
    error = raised.value.body
    assert isinstance(error, dict)
    assert error["code"] == "payload_too_large" and error["type"] == "invalid_request_error"
    assert f"at most {LIMIT}" in error["message"] and "Margarethe" not in error["message"]
    assert upstream.raw_requests == []


async def test_only_text_not_seen_before_counts(
    make_client: Callable[..., AsyncOpenAI], upstream: FakeUpstream
) -> None:
    client = make_client(ner_max_chars=LIMIT)
    await client.chat.completions.create(model="m", messages=turn(1))
    # Turn 2 re-sends turn 1 (a cache hit) and adds two paragraphs: within the limit.
    answer = await client.chat.completions.create(model="m", messages=turn(1, 2, 3))
    assert answer.choices[0].message.content
    assert len(upstream.raw_requests) == 2
    assert b"Oyelaran" not in upstream.seen()
