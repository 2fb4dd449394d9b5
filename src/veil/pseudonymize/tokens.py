"""How a token looks, and how to find one again after a model has handled it.

A token reads naturally to a model (`<EMAIL_ADDRESS_1>`). Models echo tokens with changed
case, quotes or markdown around them, square brackets, a space for an underscore,
markdown-escaped underscores (`EMAIL\\_ADDRESS\\_1`) or HTML-escaped brackets
(`&lt;EMAIL_ADDRESS_1&gt;`). TOKEN_PATTERN accepts those forms and `canonical` maps each
back to the stored spelling.
"""

from __future__ import annotations

import re

TOKEN_OPEN = "<"
TOKEN_CLOSE = ">"
MAX_TOKEN_LENGTH = 64

_OPEN = r"(?:<|\[|&lt;)"
_CLOSE = r"(?:>|\]|&gt;)"
_UNDERSCORE = r"\\?_"
_NAME = rf"[A-Za-z]+(?:{_UNDERSCORE}[A-Za-z]+)*"

TOKEN_PATTERN = re.compile(rf"{_OPEN}\s?({_NAME})(?:{_UNDERSCORE}| )(\d{{1,6}})\s?{_CLOSE}")

# A suffix that may still grow into a token: every proper prefix of every accepted form.
PARTIAL_TOKEN_TAIL = re.compile(
    r"(?:<|\[|&(?:l(?:t;?)?)?)"  # an opener, possibly cut inside "&lt;"
    r"(?:(?<=[<\[;])\s?[A-Za-z\\_]*(?:(?<=[A-Za-z_])[ ]?\d{0,6})?\s?(?:&(?:g(?:t)?)?)?)?\Z"
)


def format_token(entity_type: str, ordinal: int) -> str:
    """The canonical spelling of a token."""
    return f"{TOKEN_OPEN}{entity_type}_{ordinal}{TOKEN_CLOSE}"


def canonical(match: re.Match[str]) -> str:
    """The canonical spelling of a token found by TOKEN_PATTERN."""
    return format_token(match.group(1).replace("\\", "").upper(), int(match.group(2)))
