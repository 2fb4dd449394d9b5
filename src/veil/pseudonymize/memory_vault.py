"""A vault in process memory, and the bounded expiring map it is built on."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from veil.pseudonymize.vault import MAX_COLLISIONS, TOKENS, TokenStyle


@dataclass(slots=True)
class Mapping:
    """One token↔value pair of a scope, alive until `expires_at` on the owner's clock."""

    scope: str
    token: str
    value: str
    expires_at: float


class RecentMappings:
    """A bounded two-way map of token↔value per scope; the least recently used leave first.

    A lookup that meets an entry past its `expires_at` drops it and reports a miss, so an
    expired mapping is never returned. Adding beyond `max_entries` evicts the least
    recently used entry. Not thread-safe: the owner holds its own lock.
    """

    __slots__ = ("_by_token", "_by_value", "_max_entries")

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._by_token: OrderedDict[tuple[str, str], Mapping] = OrderedDict()
        self._by_value: dict[tuple[str, str], Mapping] = {}

    def __len__(self) -> int:
        return len(self._by_token)

    def by_token(self, scope: str, token: str, now: float) -> Mapping | None:
        return self._live(self._by_token.get((scope, token)), now)

    def by_value(self, scope: str, value: str, now: float) -> Mapping | None:
        return self._live(self._by_value.get((scope, value)), now)

    def add(self, mapping: Mapping) -> None:
        for stale in (
            self._by_value.get((mapping.scope, mapping.value)),
            self._by_token.get((mapping.scope, mapping.token)),
        ):
            if stale is not None:
                self.discard(stale)
        self._by_token[(mapping.scope, mapping.token)] = mapping
        self._by_value[(mapping.scope, mapping.value)] = mapping
        while len(self._by_token) > self._max_entries:
            _, evicted = self._by_token.popitem(last=False)
            del self._by_value[(evicted.scope, evicted.value)]

    def discard(self, mapping: Mapping) -> None:
        if self._by_token.get((mapping.scope, mapping.token)) is mapping:
            del self._by_token[(mapping.scope, mapping.token)]
        if self._by_value.get((mapping.scope, mapping.value)) is mapping:
            del self._by_value[(mapping.scope, mapping.value)]

    def forget_scope(self, scope: str) -> int:
        """Drop every entry of `scope`; returns how many."""
        doomed = [m for (s, _), m in self._by_token.items() if s == scope]
        for mapping in doomed:
            self.discard(mapping)
        return len(doomed)

    def trim(self, now: float) -> int:
        """Drop expired entries from the least recently used end, stopping at a live one.

        Cheap enough for every call. It finds every expired entry when expiry follows the
        order of use, as in MemoryVault; `purge` finds them all regardless.
        """
        dropped = 0
        while self._by_token:
            oldest = next(iter(self._by_token.values()))
            if oldest.expires_at > now:
                break
            self.discard(oldest)
            dropped += 1
        return dropped

    def purge(self, now: float) -> int:
        """Drop every expired entry; returns how many."""
        expired = [m for m in self._by_token.values() if m.expires_at <= now]
        for mapping in expired:
            self.discard(mapping)
        return len(expired)

    def _live(self, mapping: Mapping | None, now: float) -> Mapping | None:
        if mapping is None:
            return None
        if mapping.expires_at <= now:
            self.discard(mapping)
            return None
        self._by_token.move_to_end((mapping.scope, mapping.token))
        return mapping


class MemoryVault:
    """A Vault in process memory, for tests, demos and single-process deployments.

    A mapping expires `ttl_seconds` after its last use; minting and every lookup count as
    use. Expired mappings are dropped lazily on later calls, or by `purge_expired`.

    Memory is bounded by `max_entries` mappings for the whole vault. Beyond it the least
    recently used mapping is evicted early: its token can no longer be restored (a reply
    that mentions it keeps the token text), and its value, if seen again, gets a new token.

    Ordinals are counted per scope and entity type and never handed out twice, even after
    a mapping expires or is evicted, so a token seen in an old conversation can never come
    to mean a different value. The price is one small counter per (scope, entity type) for
    the life of the vault; no values are kept for it. Nothing survives a restart: after
    one, old tokens are unknown and numbering starts again at 1.

    A value keeps the token of the entity type it was first seen as. Calls are serialised
    by one lock, so threads may share a vault.
    """

    def __init__(
        self,
        ttl_seconds: float,
        *,
        max_entries: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._ttl = ttl_seconds
        self._clock = clock
        self._mappings = RecentMappings(max_entries)
        self._last_ordinal: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Mappings held, counting expired ones not dropped yet."""
        return len(self._mappings)

    def tokens_for(
        self, scope: str, items: Sequence[tuple[str, str]], style: TokenStyle = TOKENS
    ) -> list[str]:
        with self._lock:
            now = self._clock()
            self._mappings.trim(now)
            tokens = []
            for entity_type, value in items:
                mapping = self._mappings.by_value(scope, value, now)
                if mapping is None:
                    token = self._mint(scope, entity_type, value, style, now)
                    mapping = Mapping(scope, token, value, now + self._ttl)
                    self._mappings.add(mapping)
                else:
                    mapping.expires_at = now + self._ttl
                tokens.append(mapping.token)
            return tokens

    def value_for(self, scope: str, token: str) -> str | None:
        with self._lock:
            now = self._clock()
            mapping = self._mappings.by_token(scope, token, now)
            if mapping is None:
                return None
            mapping.expires_at = now + self._ttl
            return mapping.value

    def token_of(self, scope: str, value: str) -> str | None:
        with self._lock:
            now = self._clock()
            mapping = self._mappings.by_value(scope, value, now)
            if mapping is None:
                return None
            mapping.expires_at = now + self._ttl
            return mapping.token

    def forget(self, scope: str) -> None:
        """Drop every mapping of `scope` (an erased subject); its counters stay."""
        with self._lock:
            self._mappings.forget_scope(scope)

    def purge_expired(self) -> int:
        """Drop every expired mapping now; returns how many."""
        with self._lock:
            return self._mappings.purge(self._clock())

    def _mint(self, scope: str, entity_type: str, value: str, style: TokenStyle, now: float) -> str:
        for _ in range(MAX_COLLISIONS):
            ordinal = self._last_ordinal.get((scope, entity_type), 0) + 1
            self._last_ordinal[(scope, entity_type)] = ordinal
            token = style.make(scope, entity_type, ordinal, value)
            if self._mappings.by_token(scope, token, now) is None:
                return token
        raise RuntimeError(f"no free {entity_type} token after {MAX_COLLISIONS} tries")
