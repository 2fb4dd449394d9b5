"""The two profiles of the stress suite, and what its tests share.

Every test that takes `profile` runs twice: `short` (in `make test`, seconds) and `full`
(marked `stress`, run by `make stress`): more examples, more cut points, longer load.
The marker alone selects the full profile.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from stress_profiles import Profile

from fake_upstream import FakeUpstream
from veil.app import create_app
from veil.config import Settings


@pytest.fixture(
    params=[
        pytest.param(Profile(full=False), id="short"),
        pytest.param(Profile(full=True), id="full", marks=pytest.mark.stress),
    ]
)
def profile(request: pytest.FixtureRequest) -> Profile:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def rules_settings(settings: Settings) -> Settings:
    """The shared test settings with rule detectors only: these tests are about the
    gateway's plumbing, and the NER model would only make them slower."""
    return settings.model_copy(update={"ner_model": ""})


@pytest.fixture
def make_rules_app(rules_settings: Settings, upstream: FakeUpstream) -> Callable[..., Starlette]:
    def make(**overrides: Any) -> Starlette:
        return create_app(
            rules_settings.model_copy(update=overrides),
            http_client=httpx.AsyncClient(transport=upstream.transport()),
        )

    return make
