"""The consent ledger: per subject and purpose, with time and source; history is kept.

A subject's state for a purpose is their latest entry, or the configured default when they
have none. Every change is also an audit entry, written in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from veil.store.audit import AuditLog
from veil.store.database import Database
from veil.store.schema import consents

Purpose = Literal["send_to_provider", "store_transcripts", "provider_retention"]
PURPOSES: tuple[Purpose, ...] = ("send_to_provider", "store_transcripts", "provider_retention")
DESCRIPTIONS: dict[Purpose, str] = {
    "send_to_provider": "Send my requests, with personal data replaced by tokens, to the AI provider.",
    "store_transcripts": "Keep my conversations, encrypted with my own key, for a limited time.",
    "provider_retention": "Let the AI provider keep my requests on its side (its stored completions).",
}
SOURCES = ("api", "portal", "cli", "admin")
DEFAULTS: dict[Purpose, bool] = {
    "send_to_provider": True,
    "store_transcripts": True,
    "provider_retention": False,
}


# Each purpose's latest entry for one subject. Built once: composing it for every request
# cost three times what running it does.
_LATEST = (
    sa.select(consents.c.purpose, sa.func.max(consents.c.id).label("id"))
    .where(consents.c.subject == sa.bindparam("subject"))
    .group_by(consents.c.purpose)
    .subquery()
)
_STATE = sa.select(consents.c.purpose, consents.c.granted).join(_LATEST, consents.c.id == _LATEST.c.id)


class UnknownPurposeError(ValueError):
    """Not one of PURPOSES."""


@dataclass(frozen=True, slots=True)
class ConsentState:
    """What a subject has agreed to, purpose by purpose, and whether each is their own choice."""

    granted: Mapping[Purpose, bool]
    chosen: frozenset[Purpose]

    def allows(self, purpose: Purpose) -> bool:
        return self.granted[purpose]

    def as_dict(self) -> dict[str, dict[str, Any]]:
        return {
            purpose: {
                "granted": self.granted[purpose],
                "source": "subject" if purpose in self.chosen else "default",
            }
            for purpose in PURPOSES
        }


class ConsentLedger:
    def __init__(
        self,
        db: Database,
        audit: AuditLog,
        defaults: Mapping[str, bool],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = set(defaults) - set(PURPOSES)
        if unknown:
            raise UnknownPurposeError(f"unknown consent purposes: {', '.join(sorted(unknown))}")
        self._db = db
        self._audit = audit
        self._defaults: dict[Purpose, bool] = {p: bool(defaults.get(p, DEFAULTS[p])) for p in PURPOSES}
        self._clock = clock

    @property
    def defaults(self) -> Mapping[Purpose, bool]:
        return dict(self._defaults)

    def state(self, subject: str) -> ConsentState:
        """The subject's current state: one indexed read, so a change counts from the next request."""
        with self._db.read() as conn:
            rows = conn.execute(_STATE, {"subject": subject}).all()
        granted = dict(self._defaults)
        chosen = set()
        for row in rows:
            if row.purpose in granted:
                granted[row.purpose] = bool(row.granted)
                chosen.add(row.purpose)
        return ConsentState(granted, frozenset(chosen))

    def set(self, subject: str, purpose: str, granted: bool, *, source: str) -> ConsentState:
        """Record a choice (and its audit entry) in one transaction; returns the new state."""
        if purpose not in PURPOSES:
            raise UnknownPurposeError(f"unknown consent purpose {purpose!r}; known: {', '.join(PURPOSES)}")
        if source not in SOURCES:
            raise ValueError(f"unknown consent source {source!r}")
        with self._db.write() as conn:
            conn.execute(
                sa.insert(consents).values(
                    subject=subject,
                    purpose=purpose,
                    granted=granted,
                    source=source,
                    recorded_at=self._clock(),
                )
            )
            self._audit.append(
                conn, "consent", subject, {"purpose": purpose, "granted": granted, "source": source}
            )
        return self.state(subject)

    def history(self, subject: str) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            rows = conn.execute(
                sa.select(consents).where(consents.c.subject == subject).order_by(consents.c.id)
            ).all()
        return [
            {"purpose": r.purpose, "granted": r.granted, "source": r.source, "recorded_at": r.recorded_at}
            for r in rows
        ]
