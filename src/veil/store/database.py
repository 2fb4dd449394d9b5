"""The database: one engine, SQLite (default) or PostgreSQL, its transactions and migrations.

What a commit survives: by default, a crash of the Veil process (SIGKILL included) but not
necessarily a power cut or a crash of the database host: SQLite runs in WAL mode with
`synchronous=NORMAL`, and Veil's PostgreSQL sessions set `synchronous_commit=off` (the
server still writes the commit to its WAL within a fraction of a second, and never
applies half a transaction). `durable=True` makes every commit wait for the disk
(`synchronous=FULL`, `synchronous_commit=on`): it then survives a power cut too, for a few
milliseconds per request on an ordinary disk.

Write transactions on SQLite begin IMMEDIATE (the write lock is taken at BEGIN, so two
processes never both read-then-write the same rows); on PostgreSQL they are plain
READ COMMITTED transactions, and code that must serialise on a subject locks that row.

A lock held elsewhere is waited for at most `busy_timeout_ms` (5 s by default) on both:
SQLite's busy timeout, and PostgreSQL's `lock_timeout` on Veil's sessions. Then the
statement fails, as a StoreError, and its request with a 503, instead of waiting for as
long as the other transaction (an operator's `LOCK TABLE`, a stuck replica) cares to hold
it. PostgreSQL's `statement_timeout` (5 min by default) bounds any one statement too.
Migrations wait as long as they need: they run once, at start, before any request.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: every process migrating one PostgreSQL database takes the same lock.
_MIGRATION_LOCK = 0x7665696C  # "veil"
_WRITE = "veil_write"


class StoreError(Exception):
    """The store cannot be used (unreachable, a newer schema, a locked file).

    Messages name the database (without credentials) and never a stored value.
    """


class Database:
    """One engine and the transactions Veil's stores run in."""

    def __init__(
        self,
        url: str,
        *,
        durable: bool = False,
        busy_timeout_ms: int = 5_000,
        statement_timeout_ms: int = 300_000,
        pool_size: int = 10,
    ) -> None:
        self.url = sa.make_url(url)
        self.dialect = self.url.get_backend_name()
        if self.dialect not in {"sqlite", "postgresql"}:
            raise StoreError(f"unsupported database {self.url.render_as_string(hide_password=True)}")
        if self.dialect == "sqlite":
            self.engine = _sqlite_engine(self.url, busy_timeout_ms, durable)
        else:
            timeouts = {"lock_timeout": busy_timeout_ms, "statement_timeout": statement_timeout_ms}
            self.engine = _postgresql_engine(self.url, pool_size, durable, timeouts)
        # SQLite has one writer. This process's threads take turns for it here, in order, and
        # not in SQLite's busy handler, which sleeps and polls: it can pass one thread over
        # until its timeout runs out while the others take the lock again and again (seen
        # with 200 conversations at once).
        self._write_turns = _Turns() if self.dialect == "sqlite" else None
        self._busy_timeout = busy_timeout_ms / 1000

    @property
    def name(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.url.database) if self.dialect == "sqlite" and self.url.database else None

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that will write: committed on success, rolled back on error."""
        with (
            self._turn_to_write(),
            self._map_errors(),
            self.engine.connect().execution_options(**{_WRITE: True}) as conn,
            conn.begin(),
        ):
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self._map_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def _turn_to_write(self) -> Iterator[None]:
        """On SQLite: this process's other writers first, waited for at most the busy timeout
        (then SQLite's own lock, held by other processes, for at most as long again)."""
        if self._write_turns is None:
            yield
            return
        if not self._write_turns.acquire(self._busy_timeout):
            raise StoreError(f"database {self.name} failed: busy (this process's writers)")
        try:
            yield
        finally:
            self._write_turns.release()

    def insert_ignoring_conflicts(self, table: sa.Table) -> Any:
        """INSERT … ON CONFLICT DO NOTHING, in this database's dialect."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return insert(table).on_conflict_do_nothing()

    def upsert(self, table: sa.Table) -> Any:
        """An INSERT whose `.on_conflict_do_update` is this database's."""
        return (postgresql.insert if self.dialect == "postgresql" else sqlite.insert)(table)

    def migrate(self) -> None:
        """Bring the schema to this Veil's version; safe when many processes start at once."""
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.write() as conn:
            if self.dialect == "postgresql":
                # Another process may be migrating (or a long ALTER may wait for requests'
                # transactions): wait for it rather than fail to start.
                conn.exec_driver_sql("SET LOCAL lock_timeout = 0")
                conn.exec_driver_sql("SET LOCAL statement_timeout = 0")
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            current = _current_revision(conn)
            known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
            if current is not None and current not in known:
                raise StoreError(
                    f"database {self.name} has schema revision {current}, which this Veil does not"
                    " know (written by a newer version?)"
                )
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def scrub(self) -> None:
        """Push deleted rows out of SQLite's WAL into the main file, where `secure_delete`
        has zeroed them. PostgreSQL reclaims dead rows by VACUUM; what they held is sealed
        under keys that no longer exist."""
        if self.dialect == "sqlite":
            with self._map_errors(), self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def revision(self) -> str | None:
        with self.read() as conn:
            return _current_revision(conn)

    def dispose(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _map_errors(self) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as error:
            # The driver's message can quote parameters (sealed bytes, subject pseudonyms):
            # only the error class and the database name go further.
            kind = type(error).__name__
            driver = getattr(error, "orig", None)
            if driver is not None:
                kind += f" ({type(driver).__name__})"
            raise StoreError(f"database {self.name} failed: {kind}") from None


class _Turns:
    """A lock taken in the order it was asked for: on release it passes straight to the
    longest waiter (a plain Lock goes to whichever thread runs first, often the one that
    just released it)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: collections.deque[threading.Event] = collections.deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Event()
            self._waiting.append(turn)
        if turn.wait(timeout):
            return True
        with self._guard:
            if turn.is_set():  # handed over as the wait ran out: it is ours
                return True
            self._waiting.remove(turn)
            return False

    def release(self) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().set()  # still held: now by the next in line
            else:
                self._held = False


def _current_revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    row = conn.execute(sa.text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


def _postgresql_engine(url: sa.URL, pool_size: int, durable: bool, timeouts_ms: dict[str, int]) -> Engine:
    # No pre-ping: it would cost a round trip per request. A connection found dead fails its
    # request (503, nothing forwarded) and SQLAlchemy then replaces the whole pool.
    engine = sa.create_engine(url, pool_size=pool_size, max_overflow=pool_size)

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        for name, milliseconds in timeouts_ms.items():
            dbapi_connection.execute(f"SET {name} = {int(milliseconds)}")
        if not durable:
            dbapi_connection.execute("SET synchronous_commit = off")
        dbapi_connection.commit()

    return engine


def _sqlite_engine(url: sa.URL, busy_timeout_ms: int, durable: bool) -> Engine:
    if url.database and url.database != ":memory:":
        _create_private(Path(url.database))
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, record: Any) -> None:
        # pysqlite's own BEGIN handling is off; _begin below issues BEGIN itself.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        _enable_wal(dbapi_connection, busy_timeout_ms / 1000)
        dbapi_connection.execute(f"PRAGMA synchronous = {'FULL' if durable else 'NORMAL'}")
        # Deleted content is overwritten with zeros, not left in free pages.
        dbapi_connection.execute("PRAGMA secure_delete = ON")

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _create_private(path: Path) -> None:
    # Created private before SQLite opens it; SQLite gives the -wal and -shm files the
    # same permissions as the database file.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600))


def _enable_wal(dbapi_connection: Any, timeout: float) -> None:
    import sqlite3

    # While another process is switching a new file to WAL, SQLite answers SQLITE_BUSY at
    # once instead of calling the busy handler, so the wait is done here.
    deadline = time.monotonic() + timeout
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(0.005)
