from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import AsyncOpenAI

from fake_upstream import FakeUpstream

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
def make_client(settings: Settings, upstream: FakeUpstream) -> Callable[..., AsyncOpenAI]:
    def make(**overrides: Any) -> AsyncOpenAI:
        app = create_app(
            settings.model_copy(update=overrides),
            http_client=httpx.AsyncClient(transport=upstream.transport()),
        )
        return AsyncOpenAI(
            api_key="sk-client-key",
            base_url="http://veil.test/v1",
            http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test"),
            max_retries=0,
        )

    return make


@pytest.fixture
async def client(make_client: Callable[..., AsyncOpenAI]) -> AsyncIterator[AsyncOpenAI]:
    openai_client = make_client()
    yield openai_client
    await openai_client.close()
