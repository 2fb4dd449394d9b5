"""The irreversible operators: what `redact`, `mask` and `hash` put in a value's place.

Unlike tokens and surrogates, nothing is kept to undo them: the provider gets less, and so
does the caller's reply (a model quoting `[REDACTED_PERSON]` quotes just that).
"""

from __future__ import annotations

import hashlib
import hmac

# How many trailing characters `mask` leaves readable (the last four digits of a card).
MASK_KEEPS = 4


def redact(entity_type: str) -> str:
    return f"[REDACTED_{entity_type}]"


def mask(value: str) -> str:
    """Every letter and digit but the last four becomes `*`; separators stay."""
    keep_from = _position_of_last(value, MASK_KEEPS)
    return "".join("*" if char.isalnum() and index < keep_from else char for index, char in enumerate(value))


def keyed_hash(secret: bytes, scope: str, entity_type: str, value: str) -> str:
    """`<TYPE#hash>`: the same value gives the same text within a scope, and nothing else does;
    without the secret it cannot be tested against guesses."""
    digest = hmac.new(secret, f"{scope}\0{value}".encode(), hashlib.sha256).hexdigest()[:12]
    return f"<{entity_type}#{digest}>"


def _position_of_last(value: str, count: int) -> int:
    """The index of the first of the last `count` letters or digits of `value`."""
    seen = 0
    for index in range(len(value) - 1, -1, -1):
        if value[index].isalnum():
            seen += 1
            if seen == count:
                return index
    return 0 if seen < count else len(value)
