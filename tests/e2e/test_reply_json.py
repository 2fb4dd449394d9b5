"""A whole reply Veil cannot write back as it came: half an emoji, or NaN (not JSON)."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from sdk import sdk_client
from veil.app import create_app
from veil.config import Settings

ASK = {"model": "m", "messages": [{"role": "user", "content": "Write to ana@example.com"}]}


def veil_answered_with(settings: Settings, raw: bytes, **overrides: object) -> Starlette:
    """Veil in front of an upstream that answers every request with `raw`."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=raw, headers={"content-type": "application/json"})

    upstream = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return create_app(settings.model_copy(update=overrides), http_client=upstream)


@pytest.mark.parametrize("storage_mode", ["metadata", "pseudonymized", "full"])
async def test_half_an_emoji_in_a_whole_reply_becomes_a_replacement_character(
    settings: Settings, storage_mode: str
) -> None:
    """A model cut off inside an emoji: the provider escapes the half pair ("\\ud83d")."""
    raw = (
        b'{"object": "chat.completion", "choices": [{"index": 0, "finish_reason": "length",'
        b' "message": {"role": "assistant", "content": "Mail <EMAIL_ADDRESS_1> \\ud83d"}}]}'
    )
    client = sdk_client(veil_answered_with(settings, raw, storage_mode=storage_mode))
    answer = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "Write to ana@example.com"}]
    )
    assert answer.choices[0].message.content == "Mail ana@example.com \ufffd"


async def test_nan_in_a_whole_reply_is_answered_as_text_not_a_500(settings: Settings) -> None:
    raw = b'{"object": "chat.completion", "choices": [], "usage": {"prompt_tokens": NaN}}'
    app = veil_answered_with(settings, raw)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test") as veil:
        response = await veil.post("/v1/chat/completions", json=ASK)
    assert response.status_code == 200
    assert b"NaN" in response.content
