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

# The look-behind refuses to start right after a backslash so that a JSON escape such
# as `\njohn@example.com` is not read as `njohn@...`; the decoded view finds it instead.
_PATTERN = re.compile(
    rf"(?<![\w+\-.\\])(?:{_LOCAL})@(?:{_LABEL}\.)+{_TLD}(?![\w\-]|\.[^\W_])",
)

# `scheme://user:secret@host` is a URL password, not an address; PasswordDetector owns it.
_URL_USERINFO = re.compile(r"://[^\s/@]*:\Z")


class EmailDetector:
    """Finds EMAIL_ADDRESS values."""

    name = "email"
    entity_type = "EMAIL_ADDRESS"
    trigger: re.Pattern[str] | None = re.compile("@")
    score = 0.95

    def find(self, text: str) -> Iterator[Span]:
        for match in _PATTERN.finditer(text):
            start = match.start()
            if start and text[start - 1] == ":" and _URL_USERINFO.search(text, max(0, start - 256), start):
                continue
            yield Span(self.entity_type, start, match.end(), self.score, self.name)
