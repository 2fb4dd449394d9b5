"""The official SDK as the client, talking to a Veil app in-process.

A module of its own (not conftest): conftest modules of several directories share the
name `conftest`, so importing from one of them depends on collection order.
"""

from __future__ import annotations

import httpx
from openai import AsyncOpenAI
from starlette.applications import Starlette


def sdk_client(app: Starlette, api_key: str = "sk-client-key") -> AsyncOpenAI:
    """The official SDK, talking to Veil in-process."""
    return AsyncOpenAI(
        api_key=api_key,
        base_url="http://veil.test/v1",
        http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test"),
        max_retries=0,
    )
