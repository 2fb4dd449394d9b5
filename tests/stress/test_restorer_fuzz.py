"""Fuzzing the streaming restorer: text made of token-like pieces (every accepted token
form, unknown and malformed tokens, surrogates in any case, glued to words or not), split
anywhere, restores exactly as the whole text does, and never holds back more than a
possible token or surrogate.
"""

from __future__ import annotations

from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.restore import Restorer, StreamRestorer

SCOPE = "subject:fuzz"
VALUES = [("EMAIL_ADDRESS", "ana@example.com"), ("PERSON", 'Ana "Q" Lima'), ("PHONE_NUMBER", "+1 415\\555")]

VAULT = MemoryVault(ttl_seconds=3600)
VAULT.tokens_for(SCOPE, VALUES)


def test_an_html_escaped_token_is_restored_whole_and_streamed() -> None:
    """`&lt;TYPE_N&gt;` is an accepted form (a model that HTML-escapes its output), also
    when no `<` or `[` is near it."""
    for text in ("&lt;PHONE_NUMBER_1&gt;", "call &lt;PHONE_NUMBER_1&gt; now"):
        expected = text.replace("&lt;PHONE_NUMBER_1&gt;", "+1 415\\555")
        assert Restorer(VAULT, SCOPE).restore(text) == expected
        stream = StreamRestorer(Restorer(VAULT, SCOPE))
        assert "".join(stream.feed(c) for c in text) + stream.finish() == expected
