"""Remembering what was found in texts seen recently.

Apps re-send the whole conversation every turn, so most of a request's text was analysed
before. The cache is keyed by a keyed hash of the text (the key lives only in this
process), holds only offsets and types, and is bounded: it never stores a raw text.

It is shared by the request threads and the reply warm-up, so it is locked, and a text
already being analysed by one thread is waited for by the others, not analysed twice.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future

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
        self._running: dict[bytes, Future[tuple[Span, ...]]] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def might_find(self, text: str) -> bool:
        return self._analyzer.might_find(text)

    def analyze(self, text: str) -> list[Span]:
        return self.analyze_many([text])[0]

    def analyze_many(self, texts: Sequence[str]) -> list[list[Span]]:
        """`analyze` for each text; the ones not seen before go to the analyzer in one batch."""
        results: list[tuple[Span, ...] | None] = [None] * len(texts)
        mine: dict[str, list[int]] = {}  # texts this call analyses
        claimed: dict[str, Future[tuple[Span, ...]]] = {}
        waiting: list[tuple[int, Future[tuple[Span, ...]]]] = []
        with self._lock:
            for index, text in enumerate(texts):
                if len(text) < _MIN_LENGTH:
                    mine.setdefault(text, []).append(index)
                    continue
                digest = self._digest(text)
                cached = self._spans.get(digest)
                if cached is not None:
                    self._spans.move_to_end(digest)
                    self.hits += 1
                    results[index] = cached
                elif digest in self._running and text not in claimed:
                    waiting.append((index, self._running[digest]))
                else:
                    if text not in claimed:
                        self.misses += 1
                        claimed[text] = self._running[digest] = Future()
                    mine.setdefault(text, []).append(index)
        if mine:
            self._analyze(mine, claimed, results)
        for index, future in waiting:
            results[index] = future.result()
        return [list(spans or ()) for spans in results]

    def _analyze(
        self,
        mine: dict[str, list[int]],
        claimed: dict[str, Future[tuple[Span, ...]]],
        results: list[tuple[Span, ...] | None],
    ) -> None:
        try:
            fresh = self._analyzer.analyze_many(list(mine))
        except BaseException as exc:
            with self._lock:
                for text, future in claimed.items():
                    self._running.pop(self._digest(text), None)
                    future.set_exception(exc)
            raise
        with self._lock:
            for (text, indices), spans in zip(mine.items(), fresh, strict=True):
                found = tuple(spans)
                for index in indices:
                    results[index] = found
                pending = claimed.get(text)
                if pending is not None:
                    digest = self._digest(text)
                    self._running.pop(digest, None)
                    self._spans[digest] = found
                    if len(self._spans) > self._max_entries:
                        self._spans.popitem(last=False)
                    pending.set_result(found)

    def _digest(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), key=self._key, digest_size=16).digest()
