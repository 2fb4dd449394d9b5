from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI
from starlette.applications import Starlette

from fake_upstream import FakeUpstream
from sdk import sdk_client
from veil.app import create_app
from veil.config import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        upstream_base_url="https://upstream.test/v1",
        upstream_api_key="sk-upstream-test-key",
        data_dir=tmp_path / "veil-data",
        master_key=None,
    )


@pytest.fixture
def upstream() -> FakeUpstream:
    return FakeUpstream()


@pytest.fixture
def make_app(settings: Settings, upstream: FakeUpstream) -> Callable[..., Starlette]:
    def make(**overrides: Any) -> Starlette:
        return create_app(
            settings.model_copy(update=overrides),
            http_client=httpx.AsyncClient(transport=upstream.transport()),
        )

    return make


@pytest.fixture
def make_client(make_app: Callable[..., Starlette]) -> Callable[..., AsyncOpenAI]:
    return lambda **overrides: sdk_client(make_app(**overrides))


@pytest.fixture
def app(make_app: Callable[..., Starlette]) -> Starlette:
    return make_app()


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[AsyncOpenAI]:
    openai_client = sdk_client(app)
    yield openai_client
    await openai_client.close()


@pytest.fixture
async def raw(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """Plain HTTP to the same Veil app, for bytes, headers and bad input."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://veil.test",
        headers={"authorization": "Bearer sk-client-key"},
    ) as http:
        yield http
