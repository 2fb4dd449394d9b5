"""The vault on disk: SQLite, values sealed, shared safely by the processes of one host."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from veil.pseudonymize.memory_vault import Mapping, RecentMappings
from veil.pseudonymize.tokens import format_token
from veil.store.cipher import Cipher, CipherError, length_prefixed

SCHEMA_VERSION = 1

# Refreshing a row's expiry on every use would turn each restore into a disk write; once a
# minute keeps hot paths read-only at the cost of expiring up to a minute early.
REFRESH_INTERVAL_SECONDS = 60.0

_KEY_CHECK_PLAINTEXT = "veil vault key check"
_KEY_CHECK_AAD = b"veil/store/key-check"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS vault_key_check (sealed BLOB NOT NULL)",
    """CREATE TABLE IF NOT EXISTS vault_entries (
        scope TEXT NOT NULL,
        token TEXT NOT NULL,
        value_index BLOB NOT NULL,
        value_ct BLOB NOT NULL,
        entity_type TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        UNIQUE (scope, token),
        UNIQUE (scope, value_index)
    )""",
    "CREATE INDEX IF NOT EXISTS vault_entries_by_expiry ON vault_entries (expires_at)",
    # Kept apart from the entries so that purging expired rows never lowers a counter.
    """CREATE TABLE IF NOT EXISTS vault_counters (
        scope TEXT NOT NULL,
        entity_type TEXT NOT NULL,
        last_ordinal INTEGER NOT NULL,
        PRIMARY KEY (scope, entity_type)
    ) WITHOUT ROWID""",
)
_READ_SCHEMA_VERSION = "SELECT version FROM schema_version"
_WRITE_SCHEMA_VERSION = "INSERT INTO schema_version (version) VALUES (?)"
_READ_KEY_CHECK = "SELECT sealed FROM vault_key_check"
_WRITE_KEY_CHECK = "INSERT INTO vault_key_check (sealed) VALUES (?)"

_FIND_BY_INDEX = "SELECT token, expires_at FROM vault_entries WHERE scope = ? AND value_index = ?"
_FIND_BY_TOKEN = (
    "SELECT value_ct, expires_at FROM vault_entries WHERE scope = ? AND token = ? AND expires_at > ?"
)
_INSERT_ENTRY = (
    "INSERT INTO vault_entries (scope, token, value_index, value_ct, entity_type, ordinal,"
    " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_REFRESH_ENTRY = "UPDATE vault_entries SET expires_at = max(expires_at, ?) WHERE scope = ? AND token = ?"
_DELETE_ENTRY = "DELETE FROM vault_entries WHERE scope = ? AND token = ?"
_PURGE_EXPIRED = "DELETE FROM vault_entries WHERE expires_at <= ?"
_BUMP_COUNTER = (
    "INSERT INTO vault_counters (scope, entity_type, last_ordinal) VALUES (?, ?, 1)"
    " ON CONFLICT (scope, entity_type) DO UPDATE SET last_ordinal = last_ordinal + 1"
)
_READ_COUNTER = "SELECT last_ordinal FROM vault_counters WHERE scope = ? AND entity_type = ?"


class VaultFileError(Exception):
    """The vault file cannot be used: another master key wrote it, or a newer schema."""


class SQLiteVault:
    """A Vault in a SQLite file, shared by every process of one host that opens it.

    Values are stored only sealed (AES-GCM, bound to their scope and token) and found by
    their keyed index, so the file and its WAL hold no value in clear. The file remembers
    which master key wrote it: opening it with another raises VaultFileError at once,
    rather than minting a second set of tokens beside unreadable ones. A row that fails
    to open later (altered, or swapped with another row) makes `value_for` raise
    CipherError; it is never returned as a value.

    A mapping expires about `ttl_seconds` after its last use: use refreshes the row at
    most once per REFRESH_INTERVAL_SECONDS (or a tenth of the TTL, if smaller), so it may
    expire that much early. Expired rows read as absent and are deleted by
    `purge_expired`, which the owner runs on a schedule. Ordinals are kept in a counters
    table and never reused, even after a purge.

    `tokens_for` resolves a whole request in one BEGIN IMMEDIATE transaction, so
    processes minting in the same scope at once cannot hand out conflicting tokens. With
    synchronous=NORMAL a commit survives a process crash but may be lost in a power cut.

    A bounded LRU of recent mappings sits in front of the file, so repeated lookups (a
    streamed reply restoring the same tokens) stay off the disk. It holds values in clear
    in process memory and never returns a mapping past its expiry.

    Threads: one connection, serialised by a lock, so the event loop and worker threads
    may share a vault; a call waits up to `busy_timeout_ms` while another process writes.
    """

    def __init__(
        self,
        path: Path,
        cipher: Cipher,
        *,
        ttl_seconds: float,
        cache_entries: int = 10_000,
        busy_timeout_ms: int = 5_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._path = path
        self._cipher = cipher
        self._ttl = ttl_seconds
        self._refresh_after = min(REFRESH_INTERVAL_SECONDS, ttl_seconds / 10)
        self._clock = clock
        self._cache = RecentMappings(cache_entries)
        self._lock = threading.Lock()
        self._conn = _connect(path, busy_timeout_ms)
        try:
            self._prepare()
        except BaseException:
            self._conn.close()
            raise

    def __enter__(self) -> SQLiteVault:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def tokens_for(self, scope: str, items: Sequence[tuple[str, str]]) -> list[str]:
        with self._lock:
            now = self._clock()
            tokens = [""] * len(items)
            from_disk = []
            for position, (_, value) in enumerate(items):
                mapping = self._cache.by_value(scope, value, now)
                if mapping is None or self._due_for_refresh(mapping.expires_at, now):
                    from_disk.append(position)
                else:
                    tokens[position] = mapping.token
            if from_disk:
                self._resolve(scope, items, from_disk, tokens, now)
            return tokens

    def value_for(self, scope: str, token: str) -> str | None:
        with self._lock:
            now = self._clock()
            mapping = self._cache.by_token(scope, token, now)
            if mapping is not None and not self._due_for_refresh(mapping.expires_at, now):
                return mapping.value
            row = self._conn.execute(_FIND_BY_TOKEN, (scope, token, now)).fetchone()
            if row is None:
                if mapping is not None:
                    self._cache.discard(mapping)
                return None
            sealed, expires_at = row
            value = self._cipher.open(sealed, _row_aad(scope, token))
            self._cache.add(Mapping(scope, token, value, self._refreshed(scope, token, expires_at, now)))
            return value

    def token_of(self, scope: str, value: str) -> str | None:
        with self._lock:
            now = self._clock()
            mapping = self._cache.by_value(scope, value, now)
            if mapping is not None and not self._due_for_refresh(mapping.expires_at, now):
                return mapping.token
            row = self._conn.execute(_FIND_BY_INDEX, (scope, self._cipher.index(scope, value))).fetchone()
            if row is None or row[1] <= now:
                if mapping is not None:
                    self._cache.discard(mapping)
                return None
            token, expires_at = row
            self._cache.add(Mapping(scope, token, value, self._refreshed(scope, token, expires_at, now)))
            return str(token)

    def purge_expired(self) -> int:
        """Delete every expired row; returns how many. Counters stay."""
        with self._lock:
            now = self._clock()
            with self._transaction() as conn:
                purged = conn.execute(_PURGE_EXPIRED, (now,)).rowcount
            self._cache.purge(now)
            return purged

    def _resolve(
        self,
        scope: str,
        items: Sequence[tuple[str, str]],
        positions: list[int],
        tokens: list[str],
        now: float,
    ) -> None:
        resolved: dict[str, Mapping] = {}
        with self._transaction() as conn:
            for position in positions:
                entity_type, value = items[position]
                mapping = resolved.get(value)
                if mapping is None:
                    mapping = self._find_or_mint(conn, scope, entity_type, value, now)
                    resolved[value] = mapping
                tokens[position] = mapping.token
        # Only after the commit: a rolled-back mint must not linger in the cache.
        for mapping in resolved.values():
            self._cache.add(mapping)

    def _find_or_mint(
        self, conn: sqlite3.Connection, scope: str, entity_type: str, value: str, now: float
    ) -> Mapping:
        index = self._cipher.index(scope, value)
        row = conn.execute(_FIND_BY_INDEX, (scope, index)).fetchone()
        if row is not None:
            token, expires_at = row
            if expires_at > now:
                return Mapping(scope, token, value, self._refreshed(scope, token, expires_at, now))
            # Expired but not purged yet: it is gone all the same, the value gets a new token.
            conn.execute(_DELETE_ENTRY, (scope, token))
        conn.execute(_BUMP_COUNTER, (scope, entity_type))
        (ordinal,) = conn.execute(_READ_COUNTER, (scope, entity_type)).fetchone()
        token = format_token(entity_type, ordinal)
        expires_at = now + self._ttl
        sealed = self._cipher.seal(value, _row_aad(scope, token))
        conn.execute(_INSERT_ENTRY, (scope, token, index, sealed, entity_type, ordinal, now, expires_at))
        return Mapping(scope, token, value, expires_at)

    def _due_for_refresh(self, expires_at: float, now: float) -> bool:
        return expires_at - now < self._ttl - self._refresh_after

    def _refreshed(self, scope: str, token: str, expires_at: float, now: float) -> float:
        """The row's expiry after this use, written to disk only when it is due."""
        if not self._due_for_refresh(expires_at, now):
            return expires_at
        renewed = now + self._ttl
        self._conn.execute(_REFRESH_ENTRY, (renewed, scope, token))
        return renewed

    def _prepare(self) -> None:
        with self._transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)
            version = conn.execute(_READ_SCHEMA_VERSION).fetchone()
            if version is None:
                conn.execute(_WRITE_SCHEMA_VERSION, (SCHEMA_VERSION,))
            elif version[0] != SCHEMA_VERSION:
                raise VaultFileError(
                    f"vault file {self._path} has schema version {version[0]};"
                    f" this Veil reads version {SCHEMA_VERSION}"
                )
            check = conn.execute(_READ_KEY_CHECK).fetchone()
            if check is None:
                conn.execute(_WRITE_KEY_CHECK, (self._cipher.seal(_KEY_CHECK_PLAINTEXT, _KEY_CHECK_AAD),))
                return
            try:
                self._cipher.open(check[0], _KEY_CHECK_AAD)
            except CipherError:
                raise VaultFileError(
                    f"vault file {self._path} was written with a different master key"
                ) from None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            # SQLite may already have rolled back on its own (disk full, I/O error).
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Created private before SQLite opens it; SQLite gives the -wal and -shm files the
    # same permissions as the database file.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600))
    # isolation_level=None: transactions are begun explicitly, as BEGIN IMMEDIATE.
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        _enable_wal(conn, busy_timeout_ms / 1000)
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _enable_wal(conn: sqlite3.Connection, timeout: float) -> None:
    # While another process is switching a new file to WAL, SQLite answers SQLITE_BUSY
    # at once instead of calling the busy handler, so the wait is done here.
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(0.005)


def _row_aad(scope: str, token: str) -> bytes:
    # Binds a ciphertext to its row: moved to another scope or token, it no longer opens.
    return length_prefixed(scope, token)
