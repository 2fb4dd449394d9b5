"""Response side: put the real values back where the model wrote tokens.

`Restorer` works on whole strings; `StreamRestorer` on a stream of deltas, holding back
only a suffix that could still become a token and flushing as soon as it cannot.
"""

from __future__ import annotations

import json
import re

from veil.errors import VaultUnavailable
from veil.pseudonymize.tokens import MAX_TOKEN_LENGTH, PARTIAL_TOKEN_TAIL, TOKEN_PATTERN, canonical
from veil.pseudonymize.vault import Vault


class Restorer:
    """Restores tokens of one scope. Tokens the vault does not know are left as written."""

    def __init__(self, vault: Vault, scope: str) -> None:
        self._vault = vault
        self._scope = scope
        self.restored = 0
        self.unknown = 0

    def restore(self, text: str, *, json_string: bool = False) -> str:
        """`text` with tokens replaced by their values.

        With `json_string`, `text` is (part of) a JSON document such as tool-call arguments
        and every value is inserted JSON-escaped, so the document stays valid JSON.
        """
        if "<" not in text and "[" not in text:
            return text
        return TOKEN_PATTERN.sub(lambda m: self._replace(m, json_string), text)

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

    def feed(self, delta: str) -> str:
        """Text that can be shown now; a possible token prefix is held back."""
        text = self._pending + delta
        if "<" not in text and "[" not in text:
            self._pending = ""
            return text
        tail = PARTIAL_TOKEN_TAIL.search(text, max(0, len(text) - MAX_TOKEN_LENGTH))
        cut = tail.start() if tail else len(text)
        self._pending = text[cut:]
        return self._restorer.restore(text[:cut], json_string=self._json_string)

    def finish(self) -> str:
        """Everything still held back, at the end of the stream."""
        text, self._pending = self._pending, ""
        return self._restorer.restore(text, json_string=self._json_string)
