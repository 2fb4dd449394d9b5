"""100 conversations at once, interleaved: no value is ever restored into another's reply."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from openai import AsyncOpenAI

CONVERSATIONS = 100
EMAIL = re.compile(r"person\d+@example\.com")


async def _conversation(client: AsyncOpenAI, n: int) -> list[str]:
    own = f"person{n}@example.com"
    history: list[dict[str, Any]] = []
    replies = []
    for turn in range(3):
        history.append({"role": "user", "content": f"turn {turn}: I am {own}, card 4111 1111 1111 1111"})
        if (n + turn) % 2:
            stream = await client.chat.completions.create(
                model="m",
                messages=history,
                user=f"user-{n}",
                stream=True,  # type: ignore[arg-type]
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        else:
            done = await client.chat.completions.create(model="m", messages=history, user=f"user-{n}")  # type: ignore[arg-type]
            text = done.choices[0].message.content or ""
        history.append({"role": "assistant", "content": text})
        replies.append(text)
    return replies


async def test_interleaved_conversations_never_cross(client: AsyncOpenAI) -> None:
    results = await asyncio.gather(*(_conversation(client, n) for n in range(CONVERSATIONS)))
    for n, replies in enumerate(results):
        for turn, text in enumerate(replies):
            assert text == f"You said: turn {turn}: I am person{n}@example.com, card 4111 1111 1111 1111"
            assert set(EMAIL.findall(text)) == {f"person{n}@example.com"}
