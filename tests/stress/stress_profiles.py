"""The two profiles of the stress suite: `short` (in `make test`) and `full` (marked
`stress`, run by `make stress`). A module of its own, not conftest: conftest modules of
several directories share one name, so importing from one depends on collection order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from hypothesis import HealthCheck, settings

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
