"""Email addresses, including reserved test domains (`.example`, `.test`, `example.com`).

Test domains are real leaks in practice: fixtures and tickets are full of them, and a
detector that skips them teaches people to trust it with real ones. Local parts and
domain labels accept any Unicode letter, so `josé@exämple.de` and IDN domains match;
the top-level label must be letters (or an `xn--` punycode label) and at least two long,
which is what keeps `foo@bar` and `user@localhost` out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

_LOCAL = r"[\w+\-]+(?:\.[\w+\-]+)*"
_LABEL = r"[^\W_](?:[\w\-]{0,61}[^\W_])?"
_TLD = r"(?:[^\W\d_]{2,63}|xn--[a-z0-9\-]{2,59})"

# Found from each `@` outwards: the local part is the longest run that ends at the `@`
# (at most 64 characters, RFC 5321), the domain the labels that start after it.
_LOCAL_BEFORE = re.compile(rf"{_LOCAL}\Z")
_DOMAIN_AFTER = re.compile(rf"(?:{_LABEL}\.)+{_TLD}(?![\w\-]|\.[^\W_])")
_LOCAL_CHARS = re.compile(r"[\w+\-.]")
_MAX_LOCAL = 64

# `scheme://user:secret@host` is a URL password, not an address; PasswordDetector owns it.
_URL_USERINFO = re.compile(r"://[^\s/@]*:\Z")


class EmailDetector:
    """Finds EMAIL_ADDRESS values."""

    name = "email"
    entity_type = "EMAIL_ADDRESS"
    trigger: re.Pattern[str] | None = re.compile("@")
    score = 0.95

    def find(self, text: str) -> Iterator[Span]:
        at = text.find("@")
        while at >= 0:
            # The domain is checked first: it is a cheap anchored match that fails fast.
            floor = max(0, at - _MAX_LOCAL)
            domain = _DOMAIN_AFTER.match(text, at + 1)
            local = _LOCAL_BEFORE.search(text, floor, at) if domain else None
            if local and domain and self._starts_a_value(text, local.start(), floor):
                yield Span(self.entity_type, local.start(), domain.end(), self.score, self.name)
            at = text.find("@", at + 1)

    @staticmethod
    def _starts_a_value(text: str, start: int, floor: int) -> bool:
        if start == 0:
            return True
        before = text[start - 1]
        if start == floor and _LOCAL_CHARS.match(before):
            return False  # the local part is longer than an address allows
        if before == "\\":
            return False  # `\njohn@...` is a JSON escape; the decoded view finds `john@...`
        return not (before == ":" and _URL_USERINFO.search(text, max(0, start - 256), start))
