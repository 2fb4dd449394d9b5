"""The web side driven in-process on a real SQLite database in the test's own directory:
the official SDK for chat requests, httpx for the pages and the admin API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette
from web_client import ADMIN_KEY, BASE_URL

from veil.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # model_copy does not validate: the key goes in as the type Settings holds it.
    # Rules only: the pages do not depend on the NER model, and it costs a second to load.
    return settings.model_copy(update={"admin_key": SecretStr(ADMIN_KEY), "ner_model": ""})


@pytest.fixture
def app(make_app: Callable[..., Starlette]) -> Starlette:
    return make_app()


@pytest.fixture
async def web(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of the pages and the admin API (it keeps cookies)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as client:
        yield client
