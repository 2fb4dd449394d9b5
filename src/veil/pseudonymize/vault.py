"""The token→value map: the Vault protocol (MemoryVault and store.DatabaseVault implement it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from veil.pseudonymize.tokens import format_token


class TokenStyle(Protocol):
    """How the n-th value of a type in a scope is written: a token, or a surrogate."""

    def make(self, scope: str, entity_type: str, ordinal: int, value: str) -> str: ...


class Tokens:
    """`<TYPE_N>`."""

    def make(self, scope: str, entity_type: str, ordinal: int, value: str) -> str:
        return format_token(entity_type, ordinal)


TOKENS = Tokens()
# Ordinals skipped when a made surrogate is already taken in the scope, before giving up.
MAX_COLLISIONS = 32


class Vault(Protocol):
    """Holds, per scope, which token stands for which value.

    A scope is an opaque string (a keyed hash of a tenant/subject), never a raw identifier.
    The same value in the same scope always gets the same token; two different values
    never share one. Implementations are safe under concurrent requests of one scope.
    """

    def tokens_for(
        self, scope: str, items: Sequence[tuple[str, str]], style: TokenStyle = TOKENS
    ) -> list[str]:
        """The token for each `(entity_type, value)`, minting new ones in `style` as needed.

        A value keeps the token it was first given in the scope, whatever the style asked
        later. Minted tokens never collide with another value's in the scope.
        """
        ...

    def value_for(self, scope: str, token: str) -> str | None:
        """The value behind a canonical token, or None if unknown or expired."""
        ...

    def token_of(self, scope: str, value: str) -> str | None:
        """The token already minted for `value`, without minting one."""
        ...
