"""How long each category is kept, and the purge that enforces it."""

from __future__ import annotations

import time
from collections.abc import Mapping
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


def purge(
    db: Database,
    retention: Retention,
    *,
    tenants: Mapping[str, Retention] | None = None,
    now: float | None = None,
) -> PurgeReport:
    """Delete what has outlived its retention: `tenants`' own, `retention` for the rest.

    Idempotent, and safe beside live traffic and other purges: each category is a DELETE
    by time in its own transaction. Retention applies to rows already stored: a shortened
    vault retention also pulls in the expiry of mappings stored under the longer one.
    """
    now = time.time() if now is None else now
    tenants = dict(tenants or {})
    totals = [0, 0, 0]
    for tenant, policy in [*tenants.items(), (None, retention)]:
        # The rows of tenants named above are theirs alone; everyone else gets the default.
        for position, count in enumerate(_purge_one(db, policy, tenant, set(tenants), now)):
            totals[position] += count
    return PurgeReport(*totals)


def _purge_one(
    db: Database, retention: Retention, tenant: str | None, named: set[str], now: float
) -> list[int]:
    def mine(table: sa.Table) -> sa.ColumnElement[bool]:
        if tenant is not None:
            return table.c.tenant == tenant
        return table.c.tenant.not_in(named) if named else sa.true()

    with db.write() as conn:
        removed_transcripts = conn.execute(
            sa.delete(transcripts).where(
                mine(transcripts), transcripts.c.created_at <= now - retention.transcripts_days * DAY
            )
        ).rowcount
    with db.write() as conn:
        removed_metadata = conn.execute(
            sa.delete(request_records).where(
                mine(request_records), request_records.c.created_at <= now - retention.metadata_days * DAY
            )
        ).rowcount
    vault_horizon = now + retention.vault_days * DAY
    with db.write() as conn:
        conn.execute(
            sa.update(vault_entries)
            .where(mine(vault_entries), vault_entries.c.expires_at > vault_horizon)
            .values(expires_at=vault_horizon)
        )
        expired = sa.delete(vault_entries).where(mine(vault_entries), vault_entries.c.expires_at <= now)
        removed_vault = conn.execute(expired).rowcount
    return [int(removed_transcripts), int(removed_metadata), int(removed_vault)]
