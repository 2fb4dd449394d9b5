"""Passwords and other secrets given as values: URL userinfo, key = value, bearer headers.

The span is only the value, so `password=<PASSWORD_1>` still tells the model what the
token is. Shapes covered:
- `scheme://user:VALUE@host` (connection strings, URLs with credentials);
- `password=VALUE`, `passwd: VALUE`, `pwd=VALUE`, `"password": "VALUE"`, `secret=`,
  `api_key=`, `token=`, `client_secret:` and prefixed keys (`DB_PASSWORD=`), in
  JSON, YAML, TOML, .env, ini and `Password=...;` connection-string form;
- `Authorization: Bearer VALUE`.
The key word must end the key name, so `max_tokens: 100` and `password_reset: true` are
not findings. Values that are placeholders rather than secrets are skipped: masks
(`********`), template references (`${DB_PASSWORD}`, `{{ token }}`, `<password>`), code
(`get_password()`), and null-ish words. Keys other than the password family need an
8-character value, because short `token`/`secret` values are counts and flags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

# The password runs to the last `@` before the host, so an `@` inside it is kept in the span.
_USERINFO = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\\\"'<>]*:([^\s/\\\"'<>]+)@[\w\[]")

_KEY = re.compile(
    r"(?i)(?:(password|passwd|passphrase|pwd)|"
    r"secret|token|api[_\-]?key|access[_\-]?key|secret[_\-]?key|private[_\-]?key|auth[_\-]?key)"
    r"(?![\w\-])"
)
# After the key: an optional closing quote, the separator, an optional opening quote.
_SEPARATOR = re.compile(r"""["']?\s*(?::=|=>|[:=])[ \t]*(["']?)""")
_UNQUOTED_VALUE = re.compile(r"""[^\s"'`,;&<>(){}\[\]\\]+""")
_BEARER = re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/\-]{16,}=*)")

_CODE_REFERENCE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
# Null-ish words and the type names that follow `password:` in annotated code.
_PLACEHOLDERS = frozenset(
    {"none", "null", "nil", "true", "false", "undefined", "required", "optional", "redacted"}
    | {"str", "string", "bytes", "int", "any", "secretstr", "secretbytes"},
)
_MASK_CHARS = frozenset("*•xX#.-_?")

_TRIGGER = re.compile(r"(?i)pass|pwd|secret|token|key|bearer|://")


class PasswordDetector:
    """Finds PASSWORD values."""

    name = "password"
    entity_type = "PASSWORD"
    trigger: re.Pattern[str] | None = _TRIGGER
    score = 0.7

    def find(self, text: str) -> Iterator[Span]:
        if "://" in text:
            for match in _USERINFO.finditer(text):
                yield self._span(match.start(1), match.end(1))
        for key in _KEY.finditer(text):
            span = self._assigned_value(text, key)
            if span is not None:
                yield span
        for match in _BEARER.finditer(text):
            yield self._span(match.start(1), match.end(1))

    def _assigned_value(self, text: str, key: re.Match[str]) -> Span | None:
        separator = _SEPARATOR.match(text, key.end())
        if separator is None:
            return None
        start = separator.end()
        quote = separator.group(1)
        if quote:
            end = text.find(quote, start)
            newline = text.find("\n", start)
            if end < 0 or (0 <= newline < end):
                return None
        else:
            value = _UNQUOTED_VALUE.match(text, start)
            if value is None:
                return None
            end = value.end()
            while end > start and text[end - 1] in ".,:;!?":
                end -= 1
            # `password = get_password()`, `token = os.environ[...]`, `password=self.password`
            if text[end : end + 1] in ("(", "[") or _CODE_REFERENCE.fullmatch(text, start, end):
                return None
        value_text = text[start:end]
        if not _is_secret_value(value_text) or value_text.lower() == key.group().lower():
            return None
        if key.group(1) is None and len(value_text) < 8:
            return None
        return self._span(start, end)

    def _span(self, start: int, end: int) -> Span:
        return Span(self.entity_type, start, end, self.score, self.name)


def _is_secret_value(value: str) -> bool:
    if not value or value.lower() in _PLACEHOLDERS or set(value) <= _MASK_CHARS:
        return False
    # Template references: `${DB_PASSWORD}`, `{{ token }}`, `<password>`, `%(pw)s`.
    return value[0] not in "$%<{["
