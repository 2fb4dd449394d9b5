"""Passwords and other secrets given as values: URL userinfo, key = value, bearer headers.

The span is only the value, so `password=<PASSWORD_1>` still tells the model what was
there. Shapes covered:
- `scheme://user:VALUE@host` (connection strings, URLs with credentials);
- `password=VALUE`, `passwd: VALUE`, `pwd=VALUE`, `"password": "VALUE"`, `secret=`,
  `api_key=`, `token=`, `client_secret:` and prefixed keys (`DB_PASSWORD=`), in JSON,
  YAML, TOML, .env, ini and `Password=...;` connection-string form;
- `Authorization: Bearer VALUE`.

The key word must end the key name, so `max_tokens: 100` and `password_reset: true` are
not findings, and there must be a separator, so "password reset" is not either. Values
that are placeholders rather than secrets are skipped: masks (`********`), template
references (`${DB_PASSWORD}`, `{{ token }}`, `<password>`), code (`get_password()`,
`self.password`), null-ish words and type names (`password: str`). People choose
passwords, so any password value counts; values of `token`/`secret`/`api_key` keys must
look generated (8+ characters with a digit, one of `+/=_`, or mixed case), because
`token: 42` is a count and the prose after "Secret:" is not a secret.

Every shape needs a `:` or `=` (a bearer token comes in a header line), so the trigger
is that character class, and the search is anchored on each separator: the key word is
checked just before it, which is much cheaper than a case-insensitive keyword scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from veil.detect.base import Span

# The password runs to the last `@` before the host, so an `@` inside it stays in the span.
_USERINFO = re.compile(r"://[^\s:/@\\\"'<>]*:([^\s/\\\"'<>]+)@[\w\[]")
_SEPARATOR = re.compile(r"[:=]")
# An unquoted value ends at a blank, a quote, a delimiter, or an `&` that starts the next
# query parameter (`&x=`); an `&` inside a password (`Tr0ub&dor`) stays in it.
_UNQUOTED_VALUE = re.compile(r"""[^\s"'`,;&<>(){}\[\]\\]+(?:&(?![\w.\-]+=)[^\s"'`,;&<>(){}\[\]\\]*)*""")
_BEARER = re.compile(r"\b(?:[Bb]earer|BEARER)[ \t]+([A-Za-z0-9._~+/\-]{16,}=*)")
_CODE_REFERENCE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


def _joined(first: str, second: str) -> tuple[str, ...]:
    return (first + second, f"{first}_{second}", f"{first}-{second}")


_PASSWORD_KEYS = ("password", "passwd", "passphrase", "pwd")
_OTHER_KEYS = (
    "secret",
    "token",
    *_joined("api", "key"),
    *_joined("access", "key"),
    *_joined("secret", "key"),
    *_joined("private", "key"),
    *_joined("auth", "key"),
)
_LONGEST_KEY = max(len(key) for key in _PASSWORD_KEYS + _OTHER_KEYS)
_KEY_FINAL_LETTERS = frozenset(key[-1] for key in _PASSWORD_KEYS + _OTHER_KEYS)
# Longer values are not passwords; the bound keeps `password=password=...` linear.
_MAX_VALUE = 1024

# Null-ish words and the type names that follow `password:` in annotated code.
_PLACEHOLDERS = frozenset(
    {"none", "null", "nil", "true", "false", "undefined", "required", "optional", "redacted"}
    | {"str", "string", "bytes", "int", "any", "secretstr", "secretbytes"},
)
_MASK_CHARS = frozenset("*•xX#.-_?")


class PasswordDetector:
    """Finds PASSWORD values."""

    name = "password"
    entity_type = "PASSWORD"
    trigger: re.Pattern[str] | None = _SEPARATOR
    score = 0.7

    def find(self, text: str) -> Iterator[Span]:
        for match in _USERINFO.finditer(text):
            yield self._span(match.start(1), match.end(1))
        for separator in _SEPARATOR.finditer(text):
            span = self._assigned_value(text, separator.start())
            if span is not None:
                yield span
        if "earer" in text or "EARER" in text:
            for match in _BEARER.finditer(text):
                yield self._span(match.start(1), match.end(1))

    def _assigned_value(self, text: str, at: int) -> Span | None:
        key = _key_before(text, at)
        if key is None:
            return None
        start = _value_start(text, at)
        if start is None:
            return None
        quote = text[start : start + 1]
        limit = min(len(text), start + 1 + _MAX_VALUE)
        if quote in ('"', "'"):
            start += 1
            end = text.find(quote, start, limit)
            newline = text.find("\n", start, limit)
            if end < 0 or (0 <= newline < end):
                return None
        else:
            value = _UNQUOTED_VALUE.match(text, start, limit)
            if value is None:
                return None
            end = value.end()
            while end > start and text[end - 1] in ".,:;!?":
                end -= 1
            # `password = get_password()`, `token = os.environ[...]`, `password=self.password`
            if text[end : end + 1] in ("(", "[") or _CODE_REFERENCE.fullmatch(text, start, end):
                return None
        value_text = text[start:end]
        if not _is_secret_value(value_text) or value_text.lower() == key:
            return None
        if key not in _PASSWORD_KEYS and not _looks_generated(value_text):
            return None
        return self._span(start, end)

    def _span(self, start: int, end: int) -> Span:
        return Span(self.entity_type, start, end, self.score, self.name)


def _key_before(text: str, at: int) -> str | None:
    """The key word ending just before the separator at `at` (past a quote and blanks)."""
    end = at
    while end and text[end - 1] in " \t":
        end -= 1
    if end and text[end - 1] in "\"'":
        end -= 1
    if not end or text[end - 1].lower() not in _KEY_FINAL_LETTERS:
        return None
    tail = text[max(0, end - _LONGEST_KEY) : end].lower()
    for key in _PASSWORD_KEYS + _OTHER_KEYS:
        if tail.endswith(key):
            return key
    return None


def _value_start(text: str, at: int) -> int | None:
    """Where the value after the separator at `at` starts; None for comparisons."""
    after = at + 1
    operator = text[at : after + 1]
    if operator == "==":  # compares, does not assign
        return None
    if operator in (":=", "=>"):
        after += 1
    while after < len(text) and text[after] in " \t":
        after += 1
    return after


def _looks_generated(value: str) -> bool:
    """Whether a `token`/`secret`/`api_key` value looks machine-made rather than a word."""
    if len(value) < 8:
        return False
    return (
        any(c.isdigit() for c in value)
        or any(c in "+/=_" for c in value)
        or (sum(c.isupper() for c in value) >= 2 and any(c.islower() for c in value))
    )


def _is_secret_value(value: str) -> bool:
    if not value or value.lower() in _PLACEHOLDERS or set(value) <= _MASK_CHARS:
        return False
    # Template references: `${DB_PASSWORD}`, `{{ token }}`, `<password>`, `%(pw)s`.
    return value[0] not in "$%<{["
