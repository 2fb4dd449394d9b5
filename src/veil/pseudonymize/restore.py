"""Response side: put the real values back where the model wrote tokens or surrogates.

`Restorer` works on whole strings; `StreamRestorer` on a stream of deltas, holding back
only a suffix that could still become a token or a surrogate and flushing as soon as it
cannot. Surrogates are matched whole-word and case-insensitively (a model may capitalise
a name it moved to the start of a sentence, or write it in capitals the Turkish way:
"LİNDA"). In a JSON document a word may also start right after an escape: `\\nLinda` is
a line break, then the name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping

from veil.errors import VaultUnavailable
from veil.pseudonymize.tokens import MAX_TOKEN_LENGTH, PARTIAL_TOKEN_TAIL, TOKEN_PATTERN, canonical
from veil.pseudonymize.vault import Vault

# Where a surrogate may start: not right after a letter, digit or underscore (it would be
# the end of a longer word); in a JSON string, also right after an escape such as \n or \u00a0.
_WORD_START = r"(?<!\w)"
_JSON_WORD_START = r"(?:(?<!\w)|(?<=(?<!\\)\\[bfnrt])|(?<=(?<!\\)\\u[0-9A-Fa-f]{4}))"
_STARTS = {False: re.compile(_WORD_START), True: re.compile(_JSON_WORD_START)}
# The letters a case-insensitive pattern takes for an ASCII one that `str.lower` keeps
# apart: the Turkish dotted capital I (its lowercase is "i" and a combining dot), the
# dotless i, the long s.
_CASE_FOLDS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})


def fold_case(text: str) -> str:
    """`text` as surrogates are compared: in the case the restorer's patterns ignore."""
    return text.translate(_CASE_FOLDS).lower()


class Restorer:
    """Restores tokens of one scope, and the request's surrogates. Tokens the vault does
    not know are left as written."""

    def __init__(self, vault: Vault, scope: str, surrogates: Mapping[str, str] | None = None) -> None:
        self._vault = vault
        self._scope = scope
        self._surrogates = {fold_case(k): v for k, v in (surrogates or {}).items()}
        # Longest first; a match's group number says which one it is, whatever its case.
        keys = sorted(self._surrogates, key=len, reverse=True)
        self._values = [self._surrogates[k] for k in keys]
        alternatives = "|".join(f"({re.escape(k)})" for k in keys)
        self._surrogate_patterns = {
            json_string: re.compile(f"{start}(?:{alternatives})(?!\\w)", re.IGNORECASE)
            for json_string, start in ((False, _WORD_START), (True, _JSON_WORD_START))
        }
        # Every proper prefix of every surrogate: a stream tail that is one may still become one.
        self.surrogate_prefixes = frozenset(k[:n] for k in self._surrogates for n in range(1, len(k)))
        self.longest_surrogate = max(map(len, self._surrogates), default=0)
        self.restored = 0
        self.unknown = 0

    @property
    def surrogates(self) -> frozenset[str]:
        return frozenset(self._surrogates)

    def restore(self, text: str, *, json_string: bool = False, after: str = "") -> str:
        """`text` with tokens and surrogates replaced by their values.

        With `json_string`, `text` is (part of) a JSON document such as tool-call arguments
        and every value is inserted JSON-escaped, so the document stays valid JSON.
        `after` is what came just before `text` in a stream: a surrogate right after a
        letter there is the end of a longer word, not a surrogate.
        """
        if self._values:
            pattern = self._surrogate_patterns[json_string]
            text = _sub_after(pattern, after, text, lambda m: self._real(m, json_string))
        if "<" not in text and "[" not in text and "&lt;" not in text:
            return text
        return TOKEN_PATTERN.sub(lambda m: self._replace(m, json_string), text)

    def may_start(self, text: str, position: int, *, json_string: bool) -> bool:
        """Whether a surrogate may start at `text[position]`, given what comes before it."""
        return _STARTS[json_string].match(text, position) is not None

    def _real(self, match: re.Match[str], json_string: bool) -> str:
        self.restored += 1
        value = self._values[(match.lastindex or 1) - 1]
        return _json_escaped(value) if json_string else value

    def _replace(self, match: re.Match[str], json_string: bool) -> str:
        try:
            value = self._vault.value_for(self._scope, canonical(match))
        except Exception as exc:
            raise VaultUnavailable("The token vault is unavailable; the reply cannot be restored.") from exc
        if value is None:
            self.unknown += 1
            return match.group(0)
        self.restored += 1
        return _json_escaped(value) if json_string else value


def _sub_after(
    pattern: re.Pattern[str], before: str, text: str, replace: Callable[[re.Match[str]], str]
) -> str:
    """`pattern.sub(replace, text)`, with `text` following `before`: lookbehinds see it."""
    joined = before + text
    pieces: list[str] = []
    position = len(before)
    for match in pattern.finditer(joined, len(before)):
        pieces += (joined[position : match.start()], replace(match))
        position = match.end()
    pieces.append(joined[position:])
    return "".join(pieces)


def _json_escaped(value: str) -> str:
    # A value captured from inside a JSON string is stored in its escaped form already;
    # re-escaping it would double its backslashes.
    try:
        json.loads(f'"{value}"')
    except ValueError:
        return json.dumps(value, ensure_ascii=False)[1:-1]
    return value


class StreamRestorer:
    """Restores tokens in one streamed text channel (a choice's content, a tool call's arguments)."""

    def __init__(self, restorer: Restorer, *, json_string: bool = False) -> None:
        self._restorer = restorer
        self._json_string = json_string
        self._pending = ""
        # The last characters already restored, as written: whether a surrogate may start
        # right after them (after a letter, no; after a JSON escape such as \u00a0, yes).
        self._before = ""

    def feed(self, delta: str) -> str:
        """Text that can be shown now; a possible token or surrogate prefix is held back."""
        text = self._pending + delta
        cut = self._surrogate_tail(text)
        if "<" in text or "[" in text or "&" in text:
            tail = PARTIAL_TOKEN_TAIL.search(text, max(0, len(text) - MAX_TOKEN_LENGTH))
            if tail:
                cut = min(cut, tail.start())
        ready, self._pending = text[:cut], text[cut:]
        restored = self._restorer.restore(ready, json_string=self._json_string, after=self._before)
        self._before = (self._before + ready)[-_CONTEXT_CHARS:]
        return restored

    def _surrogate_tail(self, text: str) -> int:
        """Where a trailing possible surrogate (or a whole one that may still grow) starts."""
        prefixes = self._restorer.surrogate_prefixes
        whole = self._restorer.surrogates
        context = self._before + text
        for length in range(min(len(text), self._restorer.longest_surrogate), 0, -1):
            start = len(text) - length
            tail = fold_case(text[start:])
            # Surrogates match whole words only.
            if (tail in prefixes or tail in whole) and self._restorer.may_start(
                context, len(self._before) + start, json_string=self._json_string
            ):
                return start
        return len(text)

    def finish(self) -> str:
        """Everything still held back, at the end of the stream."""
        text, self._pending = self._pending, ""
        return self._restorer.restore(text, json_string=self._json_string, after=self._before)


# Enough of what came before to see a JSON escape (\u00a0) and the backslash before it.
_CONTEXT_CHARS = 8
