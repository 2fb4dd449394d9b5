"""The two profiles of the stress suite, and what its tests share.

Every test that takes `profile` runs twice: `short` (in `make test`, seconds) and `full`
(marked `stress`, run by `make stress`): more examples, more cut points, longer load.
The marker alone selects the full profile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, settings
from starlette.applications import Starlette

from fake_upstream import FakeUpstream
from veil.app import create_app
from veil.config import Settings

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    full: bool

    def pick(self, short: T, full: T) -> T:
        return full if self.full else short

    def hypothesis(self, short_examples: int, full_examples: int) -> settings:
        """Hypothesis settings for a property checked inside a profiled test."""
        return settings(
            max_examples=self.pick(short_examples, full_examples),
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )


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
