"""A clock the tests move by hand, for time-to-live behaviour."""

from __future__ import annotations


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
