"""Remembering what was found in texts seen recently.

Apps re-send the whole conversation every turn, so most of a request's text was analysed
before. The cache is keyed by a keyed hash of the text (the key lives only in this
process), holds only offsets and types, and is bounded: it never stores a raw text.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Sequence

from veil.detect.base import Span, TextAnalyzer

# Hashing costs well under a microsecond; even a short text costs the NER model a call of
# about a millisecond. Only the tiniest strings skip the cache.
_MIN_LENGTH = 8


class CachingAnalyzer:
    def __init__(self, analyzer: TextAnalyzer, max_entries: int = 20_000) -> None:
        self._analyzer = analyzer
        self._max_entries = max_entries
        self._key = secrets.token_bytes(32)
        self._spans: OrderedDict[bytes, tuple[Span, ...]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def might_find(self, text: str) -> bool:
        return self._analyzer.might_find(text)

    def analyze_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """`analyze` for each text; the ones not seen before go to the analyzer in one batch."""
        results: list[list[Span] | None] = [None] * len(texts)
        misses: dict[str, list[int]] = {}
        for index, text in enumerate(texts):
            if len(text) >= _MIN_LENGTH:
                cached = self._spans.get(self._digest(text))
                if cached is not None:
                    self._spans.move_to_end(self._digest(text))
                    self.hits += 1
                    results[index] = list(cached)
                    continue
            misses.setdefault(text, []).append(index)
        if misses:
            fresh = self._analyzer.analyze_many(list(misses))
            for (text, indices), spans in zip(misses.items(), fresh, strict=True):
                if len(text) >= _MIN_LENGTH:
                    self.misses += 1
                    self._remember(self._digest(text), spans)
                for index in indices:
                    results[index] = list(spans)
        return [spans if spans is not None else [] for spans in results]

    def analyze(self, text: str) -> list[Span]:
        if len(text) < _MIN_LENGTH:
            return self._analyzer.analyze(text)
        digest = hashlib.blake2b(
            text.encode("utf-8", "surrogatepass"), key=self._key, digest_size=16
        ).digest()
        cached = self._spans.get(digest)
        if cached is not None:
            self._spans.move_to_end(digest)
            self.hits += 1
            return list(cached)
        self.misses += 1
        spans = self._analyzer.analyze(text)
        self._remember(digest, spans)
        return spans

    def _digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), key=self._key, digest_size=16).digest()

    def _remember(self, digest: bytes, spans: list[Span]) -> None:
        self._spans[digest] = tuple(spans)
        if len(self._spans) > self._max_entries:
            self._spans.popitem(last=False)
