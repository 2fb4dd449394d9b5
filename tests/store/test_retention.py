"""The purge: each category by its own retention; idempotent; counts only."""

from __future__ import annotations

import time

import sqlalchemy as sa

from veil.store.audit import AuditLog
from veil.store.database import Database
from veil.store.records import Exchange, RecordStore
from veil.store.retention import DAY, Retention, purge
from veil.store.schema import request_records, transcripts, vault_entries
from veil.store.subject_keys import SubjectKeys
from veil.store.vault import DatabaseVault

RETENTION = Retention(transcripts_days=7, metadata_days=30, vault_days=2)


def record(store: RecordStore, request_id: str, started_at: float) -> None:
    exchange = Exchange(request_id, "subject:ana", "chat_completions", "m", False, started_at, status=200)
    exchange.request = {"messages": [{"role": "user", "content": "hi <EMAIL_ADDRESS_1>"}]}
    exchange.response = {"choices": []}
    store.save(exchange)


def counts(db: Database) -> tuple[int, int, int]:
    with db.read() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (transcripts, request_records, vault_entries)
        )


def test_each_category_is_kept_for_its_own_days(db: Database, keys: SubjectKeys, audit: AuditLog) -> None:
    now = time.time()
    store = RecordStore(db, keys, audit, "pseudonymized")
    record(store, "fresh", now - 1 * DAY)
    record(store, "week-old", now - 8 * DAY)
    record(store, "month-old", now - 31 * DAY)
    clock_now = now - 3 * DAY
    DatabaseVault(db, keys, ttl_seconds=RETENTION.vault_days * DAY, clock=lambda: clock_now).tokens_for(
        "subject:ana", [("EMAIL_ADDRESS", "old@example.com")]
    )
    DatabaseVault(db, keys, ttl_seconds=RETENTION.vault_days * DAY).tokens_for(
        "subject:ana", [("EMAIL_ADDRESS", "new@example.com")]
    )

    report = purge(db, RETENTION, now=now)

    assert (report.transcripts, report.metadata, report.vault) == (2, 1, 1)
    assert counts(db) == (1, 2, 1)
    with db.read() as conn:
        assert set(conn.execute(sa.select(request_records.c.request_id)).scalars()) == {"fresh", "week-old"}


def test_purging_twice_removes_nothing_more(db: Database, keys: SubjectKeys, audit: AuditLog) -> None:
    now = time.time()
    record(RecordStore(db, keys, audit, "full"), "old", now - 100 * DAY)

    assert purge(db, RETENTION, now=now).total == 2
    assert purge(db, RETENTION, now=now).total == 0


def test_a_shorter_vault_retention_applies_to_mappings_already_stored(
    db: Database, keys: SubjectKeys
) -> None:
    now = time.time()
    DatabaseVault(db, keys, ttl_seconds=30 * DAY, clock=lambda: now - 5 * DAY).tokens_for(
        "subject:ana", [("EMAIL_ADDRESS", "ana@example.com")]
    )

    assert purge(db, RETENTION, now=now).vault == 0
    assert purge(db, RETENTION, now=now + RETENTION.vault_days * DAY).vault == 1


def test_each_tenant_keeps_rows_for_its_own_days(db: Database, keys: SubjectKeys, audit: AuditLog) -> None:
    now = time.time()
    store = RecordStore(db, keys, audit, "metadata")
    for subject in ("subject:a", "acme/subject:a", "globex/subject:a"):
        exchange = Exchange(
            f"r-{subject}", subject, "chat_completions", "m", False, now - 10 * DAY, status=200
        )
        store.save(exchange)
    short = Retention(transcripts_days=1, metadata_days=5, vault_days=1)

    report = purge(db, RETENTION, tenants={"acme": short}, now=now)

    assert report.metadata == 1
    with db.read() as conn:
        left = set(conn.execute(sa.select(request_records.c.tenant)).scalars())
    assert left == {"default", "globex"}
