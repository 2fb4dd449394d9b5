"""The database: migrations (also when many processes start at once), errors that quote nothing."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from databases import database_url
from held_lock import held_lock
from veil.store.database import _MIGRATION_LOCK, Database, StoreError
from veil.store.schema import request_records

MIGRATE = (
    "import sys; from veil.store.database import Database;"
    " db = Database(sys.argv[1]); db.migrate(); print(db.revision())"
)


def test_migrating_twice_is_a_no_op(db: Database) -> None:
    revision = db.revision()
    db.migrate()

    assert revision is not None and db.revision() == revision


def test_processes_starting_at_once_on_a_fresh_database_all_succeed(db_url: str) -> None:
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, db_url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    results = [worker.communicate(timeout=60) for worker in workers]

    assert [worker.returncode for worker in workers] == [0, 0, 0, 0], [err for _, err in results]
    assert len({out.strip() for out, _ in results}) == 1


def test_a_schema_from_a_newer_veil_is_refused(db: Database) -> None:
    with db.write() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))

    with pytest.raises(StoreError) as raised:
        db.migrate()
    assert "9999" in str(raised.value)


def test_a_failing_statement_reports_its_kind_never_its_values(db: Database) -> None:
    row = {
        "request_id": "r1",
        "subject": "subject:ana@example.com",
        "created_at": 1.0,
        "endpoint": "chat_completions",
        "status": 200,
        "stream": False,
        "entities": {},
        "storage_mode": "metadata",
    }
    with db.write() as conn:
        conn.execute(sa.insert(request_records).values(**row))

    with pytest.raises(StoreError) as raised, db.write() as conn:
        conn.execute(sa.insert(request_records).values(**row))
    assert "IntegrityError" in str(raised.value)
    assert "ana@example.com" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_an_unreachable_server_is_a_store_error_without_credentials() -> None:
    db = Database("postgresql+psycopg://veil:hunter2@127.0.0.1:1/veil?connect_timeout=2")
    with pytest.raises(StoreError) as raised:
        db.migrate()
    assert "hunter2" not in str(raised.value)
    assert "127.0.0.1:1" in str(raised.value)


@pytest.mark.parametrize("durable", [False, True])
def test_durable_commits_wait_for_the_disk(db_url: str, durable: bool) -> None:
    db = Database(db_url, durable=durable)
    try:
        with db.read() as conn:
            if db.dialect == "sqlite":
                # 1 = NORMAL: a commit survives a crash of the process; 2 = FULL: also a power cut.
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == (2 if durable else 1)
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            else:
                assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == (
                    "on" if durable else "off"
                )
    finally:
        db.dispose()


def test_a_lock_held_elsewhere_fails_the_statement_after_the_lock_timeout(db_url: str) -> None:
    db = Database(db_url, busy_timeout_ms=500)
    db.migrate()
    try:
        with held_lock(db_url, "request_records", seconds=10):
            started = time.monotonic()
            with pytest.raises(StoreError) as raised, db.write() as conn:
                conn.execute(sa.delete(request_records))
            waited = time.monotonic() - started
        with db.write() as conn:  # released: the next transaction goes through
            conn.execute(sa.delete(request_records))
    finally:
        db.dispose()

    assert 0.4 < waited < 3, waited
    assert "OperationalError" in str(raised.value)


def test_a_statement_running_past_the_statement_timeout_is_cancelled(tmp_path: Path) -> None:
    with database_url("postgresql", tmp_path) as url:
        db = Database(url, statement_timeout_ms=300)
        try:
            started = time.monotonic()
            with pytest.raises(StoreError) as raised, db.read() as conn:
                conn.execute(sa.text("SELECT pg_sleep(5)"))
            assert time.monotonic() - started < 3
            assert "QueryCanceled" in str(raised.value)
        finally:
            db.dispose()


def test_migrating_waits_for_another_process_past_the_lock_timeout(tmp_path: Path) -> None:
    """Replicas starting while one migrates wait for it, however long the migration takes."""
    held = threading.Event()

    def migrate_slowly(url: str) -> None:
        other = sa.create_engine(url)
        with other.connect() as conn, conn.begin():
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            held.set()
            time.sleep(1)
        other.dispose()

    with database_url("postgresql", tmp_path) as url:
        migrating = threading.Thread(target=migrate_slowly, args=(url,))
        migrating.start()
        assert held.wait(10)
        db = Database(url, busy_timeout_ms=200)
        try:
            started = time.monotonic()
            db.migrate()
            waited = time.monotonic() - started
            assert waited > 0.5 and db.revision() is not None
        finally:
            migrating.join()
            db.dispose()
