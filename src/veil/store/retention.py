"""How long each category is kept, and the purge that enforces it."""

from __future__ import annotations

import time
from dataclasses import dataclass

import sqlalchemy as sa

from veil.store.database import Database
from veil.store.schema import request_records, transcripts, vault_entries

DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class Retention:
    """Days to keep each category. Transcripts and metadata count from the request;
    vault mappings from their last use (a conversation in progress keeps its tokens)."""

    transcripts_days: float
    metadata_days: float
    vault_days: float


@dataclass(frozen=True, slots=True)
class PurgeReport:
    """How many rows each category lost. Counts only."""

    transcripts: int
    metadata: int
    vault: int

    @property
    def total(self) -> int:
        return self.transcripts + self.metadata + self.vault


def purge(db: Database, retention: Retention, *, now: float | None = None) -> PurgeReport:
    """Delete what has outlived its retention.

    Idempotent, and safe beside live traffic and other purges: each category is one
    DELETE by time in its own transaction. Retention applies to rows already stored: a
    shortened vault retention also pulls in the expiry of mappings stored under the
    longer one.
    """
    now = time.time() if now is None else now
    with db.write() as conn:
        removed_transcripts = conn.execute(
            sa.delete(transcripts).where(transcripts.c.created_at <= now - retention.transcripts_days * DAY)
        ).rowcount
    with db.write() as conn:
        removed_metadata = conn.execute(
            sa.delete(request_records).where(
                request_records.c.created_at <= now - retention.metadata_days * DAY
            )
        ).rowcount
    vault_horizon = now + retention.vault_days * DAY
    with db.write() as conn:
        conn.execute(
            sa.update(vault_entries)
            .where(vault_entries.c.expires_at > vault_horizon)
            .values(expires_at=vault_horizon)
        )
        removed_vault = conn.execute(
            sa.delete(vault_entries).where(vault_entries.c.expires_at <= now)
        ).rowcount
    return PurgeReport(int(removed_transcripts), int(removed_metadata), int(removed_vault))
