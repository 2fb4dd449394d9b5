"""Master key rotation: re-wrap every wrapped key under the active master key.

Data is never re-encrypted: only the small wrapped data keys change. Each row is re-wrapped
in its own short transaction, guarded by the key id it was read with, so rotation runs
beside live traffic, can be interrupted at any point, and a second run finishes the job
(rows already under the active key are skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from veil.store.database import Database
from veil.store.keys import KeyProvider
from veil.store.schema import installation_secrets, subject_keys
from veil.store.subject_keys import secret_aad, subject_aad, unwrap, wrap


@dataclass(frozen=True, slots=True)
class RotationReport:
    active_key_id: str
    rewrapped: int
    # Wrapped rows still under another key when the run ended (0 when it is done).
    remaining: int


def pending(db: Database, keys: KeyProvider) -> int:
    """How many wrapped keys are not under the active master key."""
    active = keys.active().key_id
    with db.read() as conn:
        return sum(
            int(conn.execute(sa.select(sa.func.count()).where(table.c.master_key_id != active)).scalar_one())
            for table in (subject_keys, installation_secrets)
        )


def rewrap_all(
    db: Database,
    keys: KeyProvider,
    *,
    batch: int = 500,
    stop_after: int | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> RotationReport:
    """Re-wrap every key not under the active master key. `stop_after` ends the run early
    (for tests of interruption)."""
    active = keys.active()
    done = 0
    for table, key_column, aad_of in (
        (installation_secrets, installation_secrets.c.name, secret_aad),
        (subject_keys, subject_keys.c.subject, subject_aad),
    ):
        while True:
            with db.read() as conn:
                rows = conn.execute(
                    sa.select(key_column.label("key"), table.c.wrapped, table.c.master_key_id)
                    .where(table.c.master_key_id != active.key_id)
                    .limit(batch)
                ).all()
            if not rows:
                break
            for row in rows:
                if stop_after is not None and done >= stop_after:
                    return RotationReport(active.key_id, done, pending(db, keys))
                aad = aad_of(row.key)
                data_key = unwrap(keys.get(row.master_key_id), row.wrapped, aad)
                with db.write() as conn:
                    # Guarded by the old key id: a row changed meanwhile (erased, already
                    # re-wrapped by a concurrent run) is left alone.
                    conn.execute(
                        sa.update(table)
                        .where(key_column == row.key, table.c.master_key_id == row.master_key_id)
                        .values(wrapped=wrap(active, data_key, aad), master_key_id=active.key_id)
                    )
                done += 1
                if on_progress is not None:
                    on_progress(done)
    return RotationReport(active.key_id, done, pending(db, keys))
