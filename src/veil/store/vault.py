"""The vault in the database: token→value mappings sealed with each subject's data key."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from veil.pseudonymize.memory_vault import Mapping, RecentMappings
from veil.pseudonymize.tokens import TOKEN_CLOSE, TOKEN_OPEN, format_token
from veil.pseudonymize.vault import MAX_COLLISIONS, TOKENS, TokenStyle
from veil.scope import tenant_of
from veil.store.cipher import CipherError, length_prefixed
from veil.store.database import Database
from veil.store.schema import vault_counters, vault_entries
from veil.store.subject_keys import SubjectKeys

# Refreshing a row's expiry on every use would turn each restore into a write; once a
# minute keeps hot paths read-only at the cost of expiring up to a minute early. It is
# also how long a mapping may be served from this process's memory without the database
# being asked, so an erasure made by another replica is honoured here within a minute.
REFRESH_INTERVAL_SECONDS = 60.0

# The statements of every request, built once and run with its values: composing a
# statement with its values cost several times what running it does. Minting looks up all
# of a request's values in one query and inserts all its new mappings in one executemany.
_c = vault_entries.c
_BY_TOKEN = sa.select(_c.value_ct, _c.expires_at).where(
    _c.subject == sa.bindparam("subject"),
    _c.token == sa.bindparam("token"),
    _c.expires_at > sa.bindparam("now"),
)
_LIVE_BY_INDEX = sa.select(_c.token, _c.expires_at).where(
    _c.subject == sa.bindparam("subject"),
    _c.value_index == sa.bindparam("value_index"),
    _c.expires_at > sa.bindparam("now"),
)
_BY_INDEXES = sa.select(_c.token, _c.value_index, _c.expires_at).where(
    _c.subject == sa.bindparam("subject"), _c.value_index.in_(sa.bindparam("indexes", expanding=True))
)
_TAKEN = sa.select(_c.token).where(
    _c.subject == sa.bindparam("subject"), _c.token.in_(sa.bindparam("tokens", expanding=True))
)
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
# Values per IN list: a request's values are looked up in chunks of this many, far below
# SQLite's and PostgreSQL's limits on a statement's parameters.
_CHUNK = 500
_T = TypeVar("_T")


class DatabaseVault:
    """A Vault shared by every process (and replica) using one database.

    A value is stored only sealed under its subject's data key (AES-GCM, bound to subject
    and token) and found by a keyed index derived from the same key; the scope is the
    subject. A mapping expires `ttl_seconds` after its last use (refreshed at most once
    per REFRESH_INTERVAL_SECONDS or a tenth of the TTL); expired rows read as absent and
    `purge_expired` deletes them. Ordinals live in their own table and are never reused.

    `tokens_for` resolves a whole request in one write transaction that first locks the
    subject's key row (PostgreSQL) or the database (SQLite, BEGIN IMMEDIATE): two requests
    of one subject, on two replicas, never mint conflicting tokens. However many values it
    holds, that is four statements when they are all plain tokens: the key row, one look-up
    of every value, the counters of their types moved on together, one executemany of the
    new rows.

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
        # Moves a type's counter on by `last_ordinal` (the number of ordinals wanted), or
        # starts it there; returns where it ends. Run for several types at once.
        bump = db.upsert(vault_counters)
        self._bump = bump.on_conflict_do_update(
            index_elements=[vault_counters.c.subject, vault_counters.c.entity_type],
            set_={"last_ordinal": vault_counters.c.last_ordinal + bump.excluded.last_ordinal},
        ).returning(vault_counters.c.entity_type, vault_counters.c.last_ordinal)

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
        # A value keeps the entity type it was first named with in the request.
        types: dict[str, str] = {}
        for entity_type, value in items:
            types.setdefault(value, entity_type)
        resolved: dict[str, Mapping] = {}
        with self._db.write() as conn:
            cipher = self._keys.cipher(conn, scope, create=True, lock=True)
            assert cipher is not None  # create=True
            indexes = {value: cipher.index(scope, value) for value in types}
            found = self._found(conn, scope, list(indexes.values()))
            renewed = now + self._ttl
            refreshed: list[str] = []
            expired: list[str] = []
            new: list[str] = []
            for value, index in indexes.items():
                if index not in found:
                    new.append(value)
                    continue
                token, expires_at = found[index]
                if expires_at <= now:
                    # Expired but not purged yet: gone all the same, the value gets a new token.
                    expired.append(token)
                    new.append(value)
                elif self._due_for_refresh(expires_at, now):
                    refreshed.append(token)
                    resolved[value] = Mapping(scope, token, value, renewed)
                else:
                    resolved[value] = Mapping(scope, token, value, expires_at)
            # Both are rare (a row is refreshed at most once a minute): one executemany each.
            if refreshed:
                conn.execute(
                    _REFRESH,
                    [{"row_subject": scope, "row_token": token, "renewed": renewed} for token in refreshed],
                )
            if expired:
                conn.execute(_DELETE, [{"subject": scope, "token": token} for token in expired])
            if new:
                minted = self._mint(conn, scope, [(types[value], value) for value in new], style)
                conn.execute(
                    _INSERT,
                    [
                        {
                            "subject": scope,
                            "tenant": tenant_of(scope),
                            "token": token,
                            "value_index": indexes[value],
                            "value_ct": cipher.seal(value, row_aad(scope, token)),
                            "entity_type": types[value],
                            "ordinal": ordinal,
                            "created_at": now,
                            "expires_at": renewed,
                        }
                        for value, (token, ordinal) in minted.items()
                    ],
                )
                for value, (token, _) in minted.items():
                    resolved[value] = Mapping(scope, token, value, renewed)
        # Only after the commit: a rolled-back mint must never reach the cache.
        return resolved

    @staticmethod
    def _found(conn: Connection, scope: str, indexes: list[bytes]) -> dict[bytes, tuple[str, float]]:
        """The token and expiry of each value index the scope has a row for, expired or not."""
        found: dict[bytes, tuple[str, float]] = {}
        for chunk in _chunks(indexes):
            for row in conn.execute(_BY_INDEXES, {"subject": scope, "indexes": chunk}):
                found[row.value_index] = (row.token, row.expires_at)
        return found

    def _mint(
        self, conn: Connection, scope: str, items: Sequence[tuple[str, str]], style: TokenStyle
    ) -> dict[str, tuple[str, int]]:
        """A free token and its ordinal for each `(entity_type, value)` new to the scope.

        Runs under the subject's key-row lock, so each type's counter is moved on once for
        all of its values. A plain `<TYPE_N>` token needs no check: only ordinal N of TYPE
        is ever spelt that way, counters are never lowered, and no surrogate may be spelt
        like a token. Other tokens (surrogates) are checked against the scope's rows
        together; the few that are taken get further ordinals one by one.
        """
        wanted = Counter(entity_type for entity_type, _ in items)
        last = self._bump_counters(conn, scope, wanted)
        ordinals = {entity_type: last[entity_type] - count for entity_type, count in wanted.items()}
        minted: dict[str, tuple[str, int]] = {}
        unchecked: dict[str, tuple[str, int]] = {}
        for entity_type, value in items:
            ordinals[entity_type] += 1
            ordinal = ordinals[entity_type]
            token = style.make(scope, entity_type, ordinal, value)
            if token == format_token(entity_type, ordinal):
                minted[value] = (token, ordinal)
            elif token not in unchecked and not _spelt_like_a_token(token):
                unchecked[token] = (value, ordinal)
        if unchecked:
            taken = self._taken(conn, scope, list(unchecked))
            for token, (value, ordinal) in unchecked.items():
                if token not in taken:
                    minted[value] = (token, ordinal)
        for entity_type, value in items:
            if value not in minted:
                minted[value] = self._mint_one(conn, scope, entity_type, value, style, minted)
        return minted

    def _mint_one(
        self,
        conn: Connection,
        scope: str,
        entity_type: str,
        value: str,
        style: TokenStyle,
        minted: dict[str, tuple[str, int]],
    ) -> tuple[str, int]:
        """The next free token of the type for one value whose first try was taken."""
        in_request = {token for token, _ in minted.values()}
        for _ in range(MAX_COLLISIONS):
            ordinal = self._bump_counters(conn, scope, {entity_type: 1})[entity_type]
            token = style.make(scope, entity_type, ordinal, value)
            plain = token == format_token(entity_type, ordinal)
            if plain or (
                token not in in_request
                and not _spelt_like_a_token(token)
                and not self._taken(conn, scope, [token])
            ):
                return token, ordinal
        raise RuntimeError(f"no free {entity_type} token after {MAX_COLLISIONS} tries")

    def _bump_counters(self, conn: Connection, scope: str, wanted: dict[str, int]) -> dict[str, int]:
        """Move each type's counter on by the number wanted; where each now ends."""
        rows = conn.execute(
            self._bump,
            [
                {"subject": scope, "entity_type": entity_type, "last_ordinal": count}
                for entity_type, count in wanted.items()
            ],
        )
        return {row.entity_type: int(row.last_ordinal) for row in rows}

    @staticmethod
    def _taken(conn: Connection, scope: str, tokens: list[str]) -> set[str]:
        taken: set[str] = set()
        for chunk in _chunks(tokens):
            taken.update(conn.execute(_TAKEN, {"subject": scope, "tokens": chunk}).scalars())
        return taken

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


def _chunks(items: list[_T]) -> Iterator[list[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _spelt_like_a_token(surrogate: str) -> bool:
    # Plain tokens are minted unchecked (see DatabaseVault._mint): a surrogate spelt like
    # one could take a token a later value is given, so it counts as taken.
    return surrogate.startswith(TOKEN_OPEN) and surrogate.endswith(TOKEN_CLOSE)


def row_aad(scope: str, token: str) -> bytes:
    # Binds a ciphertext to its row: moved to another subject or token, it no longer opens.
    return length_prefixed("veil/vault", scope, token)
