"""How a token looks, and how to find one again after a model has handled it.

A token reads naturally to a model (`<EMAIL_ADDRESS_1>`). Models echo tokens with changed
case, quotes or markdown around them, and sometimes with a space for the underscore; the
patterns below accept those forms and `canonical` maps each back to the stored spelling.
"""

from __future__ import annotations

import re

TOKEN_OPEN = "<"
TOKEN_CLOSE = ">"
MAX_TOKEN_LENGTH = 48

# Brackets of either kind, the entity type, a separator, the ordinal. Case-insensitive.
TOKEN_PATTERN = re.compile(r"[<\[]\s?([A-Za-z]+(?:_[A-Za-z]+)*)[_ ](\d{1,6})\s?[>\]]")

# A suffix that may still grow into a token: an opening bracket and a token prefix.
PARTIAL_TOKEN_TAIL = re.compile(r"[<\[]\s?[A-Za-z_]*(?:[_ ]\d{0,6})?\s?\Z")


def format_token(entity_type: str, ordinal: int) -> str:
    """The canonical spelling of a token."""
    return f"{TOKEN_OPEN}{entity_type}_{ordinal}{TOKEN_CLOSE}"


def canonical(match: re.Match[str]) -> str:
    """The canonical spelling of a token found by TOKEN_PATTERN."""
    return format_token(match.group(1).upper(), int(match.group(2)))
