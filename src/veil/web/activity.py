"""Counts for the pages: requests and replaced values per day, consent per purpose, and what
is held about one subject. Read from the metadata in clear; no key is needed and no value
is ever read."""

from __future__ import annotations

import datetime
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from veil.store.consent import PURPOSES
from veil.store.database import Database
from veil.store.schema import consents, request_records, transcripts, vault_entries

_DAY = 86_400


@dataclass(slots=True)
class Day:
    """One UTC day: its requests, and the values replaced or redacted in them, by type."""

    date: str
    requests: int = 0
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def values(self) -> int:
        return sum(self.by_type.values())


@dataclass(frozen=True, slots=True)
class ConsentCount:
    purpose: str
    granted: int
    withdrawn: int


class Activity:
    def __init__(self, db: Database, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._clock = clock

    def by_day(self, days: int) -> list[Day]:
        """The last `days` UTC days, today included, oldest first (days without requests too).

        Reads the window's rows (two small columns each); the dashboard is opened by hand,
        and the metadata's retention bounds how many there are.
        """
        today = int(self._clock()) // _DAY
        first = today - days + 1
        window = {number: Day(_date(number)) for number in range(first, today + 1)}
        query = (
            sa.select(request_records.c.created_at, request_records.c.entities)
            .where(request_records.c.created_at >= first * _DAY)
            .execution_options(yield_per=1000)
        )
        with self._db.read() as conn:
            for created_at, entities in conn.execute(query):
                day = window.get(int(created_at) // _DAY)
                if day is None:
                    continue
                day.requests += 1
                for side in ("request", "response"):
                    for entity_type, count in ((entities or {}).get(side) or {}).items():
                        day.by_type[entity_type] += int(count)
        return list(window.values())

    def consent_counts(self) -> list[ConsentCount]:
        """Per purpose, how many subjects' latest choice grants it and how many withdraw it
        (subjects who never chose are on the default, and not counted)."""
        latest = (
            sa.select(sa.func.max(consents.c.id).label("id"))
            .group_by(consents.c.subject, consents.c.purpose)
            .subquery()
        )
        query = (
            sa.select(consents.c.purpose, consents.c.granted, sa.func.count().label("subjects"))
            .join(latest, consents.c.id == latest.c.id)
            .group_by(consents.c.purpose, consents.c.granted)
        )
        counts: dict[str, dict[bool, int]] = {purpose: {True: 0, False: 0} for purpose in PURPOSES}
        with self._db.read() as conn:
            for purpose, granted, subjects in conn.execute(query):
                if purpose in counts:
                    counts[purpose][bool(granted)] += int(subjects)
        return [ConsentCount(p, counts[p][True], counts[p][False]) for p in PURPOSES]

    def held_for(self, subject: str) -> dict[str, int]:
        """How many requests, transcripts and vault mappings are held about `subject`."""
        tables = {"requests": request_records, "transcripts": transcripts, "vault_mappings": vault_entries}
        with self._db.read() as conn:
            return {
                name: int(
                    conn.execute(
                        sa.select(sa.func.count()).select_from(table).where(table.c.subject == subject)
                    ).scalar_one()
                )
                for name, table in tables.items()
            }


def _date(day_number: int) -> str:
    return datetime.datetime.fromtimestamp(day_number * _DAY, datetime.UTC).date().isoformat()
