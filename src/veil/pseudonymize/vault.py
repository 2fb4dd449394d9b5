"""The token→value map: the Vault protocol (MemoryVault and store.DatabaseVault implement it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Vault(Protocol):
    """Holds, per scope, which token stands for which value.

    A scope is an opaque string (a keyed hash of a tenant/subject), never a raw identifier.
    The same value in the same scope always gets the same token; two different values
    never share one. Implementations are safe under concurrent requests of one scope.
    """

    def tokens_for(self, scope: str, items: Sequence[tuple[str, str]]) -> list[str]:
        """The token for each `(entity_type, value)`, minting new ones as needed."""
        ...

    def value_for(self, scope: str, token: str) -> str | None:
        """The value behind a canonical token, or None if unknown or expired."""
        ...

    def token_of(self, scope: str, value: str) -> str | None:
        """The token already minted for `value`, without minting one."""
        ...
