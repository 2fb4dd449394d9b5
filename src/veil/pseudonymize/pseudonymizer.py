"""Request side: replace every detected value with its token for the scope."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from veil.detect.base import TextAnalyzer
from veil.errors import DetectionFailed, VaultUnavailable
from veil.pseudonymize.vault import Vault


@dataclass(slots=True)
class Pseudonymized:
    """The rewritten texts and what was replaced, by entity type (counts only)."""

    texts: list[str]
    counts: Counter[str] = field(default_factory=Counter)


class Pseudonymizer:
    """Finds values with the analyzer and swaps them for stable tokens from the vault."""

    def __init__(self, analyzer: TextAnalyzer, vault: Vault) -> None:
        self._analyzer = analyzer
        self._vault = vault

    def prefetch(self, texts: Sequence[str]) -> None:
        """Analyse `texts` now (for the analyzer's cache); nothing is minted or returned."""
        self._analyzer.analyze_many(list(dict.fromkeys(texts)))

    def pseudonymize(self, scope: str, texts: Sequence[str]) -> Pseudonymized:
        """Rewrite `texts`, minting all of the request's tokens in one vault call.

        Raises DetectionFailed or VaultUnavailable: the caller must then forward nothing.
        """
        unique = list(dict.fromkeys(texts))
        try:
            spans_by_text = dict(zip(unique, self._analyzer.analyze_many(unique), strict=True))
        except Exception as exc:
            raise DetectionFailed("A privacy check could not run; the request was not forwarded.") from exc

        items: dict[str, str] = {}
        for text, spans in spans_by_text.items():
            for span in spans:
                items.setdefault(text[span.start : span.end], span.entity_type)
        if not items:
            return Pseudonymized(list(texts))

        values = list(items)
        try:
            tokens = self._vault.tokens_for(scope, [(items[value], value) for value in values])
        except Exception as exc:
            raise VaultUnavailable("The token vault is unavailable; the request was not forwarded.") from exc
        token_of = dict(zip(values, tokens, strict=True))

        counts: Counter[str] = Counter()
        rewritten = []
        for text in texts:
            spans = spans_by_text[text]
            if not spans:
                rewritten.append(text)
                continue
            pieces = []
            position = 0
            for span in spans:
                pieces.append(text[position : span.start])
                pieces.append(token_of[text[span.start : span.end]])
                position = span.end
                counts[span.entity_type] += 1
            pieces.append(text[position:])
            rewritten.append("".join(pieces))
        return Pseudonymized(rewritten, counts)
