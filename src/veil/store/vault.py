"""The vault in the database: token→value mappings sealed with each subject's data key."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from veil.pseudonymize.memory_vault import Mapping, RecentMappings
from veil.pseudonymize.vault import MAX_COLLISIONS, TOKENS, TokenStyle
from veil.scope import tenant_of
from veil.store.cipher import Cipher, CipherError, length_prefixed
from veil.store.database import Database
from veil.store.schema import vault_counters, vault_entries
from veil.store.subject_keys import SubjectKeys

# Refreshing a row's expiry on every use would turn each restore into a write; once a
# minute keeps hot paths read-only at the cost of expiring up to a minute early. It is
# also how long a mapping may be served from this process's memory without the database
# being asked, so an erasure made by another replica is honoured here within a minute.
REFRESH_INTERVAL_SECONDS = 60.0

# The statements of every request, built once and run with its values: composing a
# statement with its values cost several times what running it does (four per new value).
_c = vault_entries.c
_BY_TOKEN = sa.select(_c.value_ct, _c.expires_at).where(
    _c.subject == sa.bindparam("subject"),
    _c.token == sa.bindparam("token"),
    _c.expires_at > sa.bindparam("now"),
)
_BY_INDEX = sa.select(_c.token, _c.expires_at).where(
    _c.subject == sa.bindparam("subject"), _c.value_index == sa.bindparam("value_index")
)
_LIVE_BY_INDEX = _BY_INDEX.where(_c.expires_at > sa.bindparam("now"))
_TAKEN = sa.select(_c.token).where(_c.subject == sa.bindparam("subject"), _c.token == sa.bindparam("token"))
_DELETE = sa.delete(vault_entries).where(
    _c.subject == sa.bindparam("subject"), _c.token == sa.bindparam("token")
)
_INSERT = sa.insert(vault_entries)
# A row's expiry is only ever pushed later.
_REFRESH = (
    sa.update(vault_entries)
    .where(
        _c.subject == sa.bindparam("row_subject"),
        _c.token == sa.bindparam("row_token"),
        _c.expires_at < sa.bindparam("renewed"),
    )
    .values(expires_at=sa.bindparam("renewed"))
)


class DatabaseVault:
    """A Vault shared by every process (and replica) using one database.

    A value is stored only sealed under its subject's data key (AES-GCM, bound to subject
    and token) and found by a keyed index derived from the same key; the scope is the
    subject. A mapping expires `ttl_seconds` after its last use (refreshed at most once
    per REFRESH_INTERVAL_SECONDS or a tenth of the TTL); expired rows read as absent and
    `purge_expired` deletes them. Ordinals live in their own table and are never reused.

    `tokens_for` resolves a whole request in one write transaction that first locks the
    subject's key row (PostgreSQL) or the database (SQLite, BEGIN IMMEDIATE): two requests
    of one subject, on two replicas, never mint conflicting tokens.

    A bounded LRU of recent mappings sits in front, so a streamed reply restoring the same
    tokens stays off the database. It holds values in clear in process memory.
    """

    def __init__(
        self,
        db: Database,
        keys: SubjectKeys,
        *,
        ttl_seconds: float,
        cache_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._db = db
        self._keys = keys
        self._ttl = ttl_seconds
        self._refresh_after = min(REFRESH_INTERVAL_SECONDS, ttl_seconds / 10)
        self._clock = clock
        self._cache = RecentMappings(cache_entries)
        self._lock = threading.Lock()
        bump = db.upsert(vault_counters)
        self._bump = bump.on_conflict_do_update(
            index_elements=[vault_counters.c.subject, vault_counters.c.entity_type],
            set_={"last_ordinal": vault_counters.c.last_ordinal + 1},
        ).returning(vault_counters.c.last_ordinal)

    def tokens_for(
        self, scope: str, items: Sequence[tuple[str, str]], style: TokenStyle = TOKENS
    ) -> list[str]:
        now = self._clock()
        tokens = [""] * len(items)
        missing = []
        with self._lock:
            for position, (_, value) in enumerate(items):
                mapping = self._cache.by_value(scope, value, now)
                if mapping is None or self._due_for_refresh(mapping.expires_at, now):
                    missing.append(position)
                else:
                    tokens[position] = mapping.token
        if missing:
            resolved = self._resolve(scope, [items[position] for position in missing], style, now)
            for position in missing:
                tokens[position] = resolved[items[position][1]].token
            with self._lock:
                for mapping in resolved.values():
                    self._cache.add(mapping)
        return tokens

    def value_for(self, scope: str, token: str) -> str | None:
        now = self._clock()
        with self._lock:
            mapping = self._cache.by_token(scope, token, now)
            if mapping is not None and not self._due_for_refresh(mapping.expires_at, now):
                return mapping.value
            if mapping is not None:
                self._cache.discard(mapping)
        with self._db.read() as conn:
            cipher = self._keys.cipher(conn, scope, create=False)
            if cipher is None:
                return None
            row = conn.execute(_BY_TOKEN, {"subject": scope, "token": token, "now": now}).first()
            if row is None:
                return None
            try:
                value = cipher.open(row.value_ct, row_aad(scope, token))
            except CipherError:
                # The subject may have been erased and come back with a new key since this
                # process cached the old one: read the key again, once.
                self._keys.forget(scope)
                fresh = self._keys.cipher(conn, scope, create=False)
                if fresh is None:
                    return None
                value = fresh.open(row.value_ct, row_aad(scope, token))
        self._remember(Mapping(scope, token, value, self._refresh(scope, token, row.expires_at, now)))
        return value

    def token_of(self, scope: str, value: str) -> str | None:
        now = self._clock()
        with self._lock:
            mapping = self._cache.by_value(scope, value, now)
            if mapping is not None and not self._due_for_refresh(mapping.expires_at, now):
                return mapping.token
            if mapping is not None:
                self._cache.discard(mapping)
        with self._db.read() as conn:
            # Not from the cache: a stale key after an erasure elsewhere would give an index
            # that matches nothing, and the value would pass as never seen.
            self._keys.forget(scope)
            cipher = self._keys.cipher(conn, scope, create=False)
            if cipher is None:
                return None
            row = conn.execute(
                _LIVE_BY_INDEX, {"subject": scope, "value_index": cipher.index(scope, value), "now": now}
            ).first()
        if row is None:
            return None
        self._remember(Mapping(scope, row.token, value, self._refresh(scope, row.token, row.expires_at, now)))
        return str(row.token)

    def purge_expired(self) -> int:
        """Delete every expired mapping; returns how many. Counters stay."""
        now = self._clock()
        with self._db.write() as conn:
            purged = conn.execute(sa.delete(vault_entries).where(vault_entries.c.expires_at <= now)).rowcount
        with self._lock:
            self._cache.purge(now)
        return int(purged)

    def forget(self, scope: str) -> None:
        """Drop a subject's mappings from this process's memory (after an erasure)."""
        with self._lock:
            self._cache.forget_scope(scope)
        self._keys.forget(scope)

    def _resolve(
        self, scope: str, items: Sequence[tuple[str, str]], style: TokenStyle, now: float
    ) -> dict[str, Mapping]:
        resolved: dict[str, Mapping] = {}
        with self._db.write() as conn:
            cipher = self._keys.cipher(conn, scope, create=True, lock=True)
            assert cipher is not None  # create=True
            for entity_type, value in items:
                if value not in resolved:
                    resolved[value] = self._find_or_mint(conn, cipher, scope, entity_type, value, style, now)
        # Only after the commit: a rolled-back mint must never reach the cache.
        return resolved

    def _find_or_mint(
        self,
        conn: Connection,
        cipher: Cipher,
        scope: str,
        entity_type: str,
        value: str,
        style: TokenStyle,
        now: float,
    ) -> Mapping:
        index = cipher.index(scope, value)
        row = conn.execute(_BY_INDEX, {"subject": scope, "value_index": index}).first()
        if row is not None:
            if row.expires_at > now:
                expires_at = row.expires_at
                if self._due_for_refresh(expires_at, now):
                    expires_at = now + self._ttl
                    conn.execute(
                        _REFRESH, {"row_subject": scope, "row_token": row.token, "renewed": expires_at}
                    )
                return Mapping(scope, row.token, value, expires_at)
            # Expired but not purged yet: gone all the same, the value gets a new token.
            conn.execute(_DELETE, {"subject": scope, "token": row.token})
        token, ordinal = self._mint(conn, scope, entity_type, value, style)
        conn.execute(
            _INSERT,
            {
                "subject": scope,
                "tenant": tenant_of(scope),
                "token": token,
                "value_index": index,
                "value_ct": cipher.seal(value, row_aad(scope, token)),
                "entity_type": entity_type,
                "ordinal": ordinal,
                "created_at": now,
                "expires_at": now + self._ttl,
            },
        )
        return Mapping(scope, token, value, now + self._ttl)

    def _mint(
        self, conn: Connection, scope: str, entity_type: str, value: str, style: TokenStyle
    ) -> tuple[str, int]:
        """The next free token of the type in the scope, and its ordinal."""
        counter = {"subject": scope, "entity_type": entity_type, "last_ordinal": 1}
        for _ in range(MAX_COLLISIONS):
            ordinal = int(conn.execute(self._bump, counter).scalar_one())
            token = style.make(scope, entity_type, ordinal, value)
            taken = conn.execute(_TAKEN, {"subject": scope, "token": token}).first()
            if taken is None:
                return token, ordinal
        raise RuntimeError(f"no free {entity_type} token after {MAX_COLLISIONS} tries")

    def _remember(self, mapping: Mapping) -> None:
        with self._lock:
            self._cache.add(mapping)

    def _due_for_refresh(self, expires_at: float, now: float) -> bool:
        return bool(expires_at - now < self._ttl - self._refresh_after)

    def _refresh(self, scope: str, token: str, expires_at: float, now: float) -> float:
        """The row's expiry after this use, written only when it is due."""
        if not self._due_for_refresh(expires_at, now):
            return float(expires_at)
        renewed = now + self._ttl
        with self._db.write() as conn:
            conn.execute(_REFRESH, {"row_subject": scope, "row_token": token, "renewed": renewed})
        return renewed


def row_aad(scope: str, token: str) -> bytes:
    # Binds a ciphertext to its row: moved to another subject or token, it no longer opens.
    return length_prefixed("veil/vault", scope, token)
