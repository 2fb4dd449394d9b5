from __future__ import annotations

import pytest

from veil.detect.analyzer import Analyzer
from veil.detect.cache import CachingAnalyzer
from veil.detect.registry import default_detectors

TEXT = "Please write to kim.lee@example.com about card 4111 1111 1111 1111, thanks a lot."


def test_cached_result_equals_fresh_analysis() -> None:
    analyzer = Analyzer(default_detectors())
    cache = CachingAnalyzer(analyzer)
    first, second = cache.analyze(TEXT), cache.analyze(TEXT)
    assert first == second == analyzer.analyze(TEXT)
    assert (cache.hits, cache.misses) == (1, 1)


def test_cache_is_bounded_and_holds_no_text() -> None:
    cache = CachingAnalyzer(Analyzer(default_detectors()), max_entries=3)
    for n in range(10):
        cache.analyze(f"{TEXT} number {n}")
    assert len(cache._spans) == 3
    stored = repr(cache._spans)
    assert "kim.lee" not in stored and "4111" not in stored


def test_changed_text_is_analysed_again() -> None:
    cache = CachingAnalyzer(Analyzer(default_detectors()))
    cache.analyze(TEXT)
    spans = cache.analyze(TEXT.replace("kim.lee@example.com", "no email here, just words"))
    assert [s.entity_type for s in spans] == ["CREDIT_CARD"]


def test_a_text_being_analysed_is_waited_for_not_analysed_twice() -> None:
    import threading

    from veil.detect.base import Span

    release = threading.Event()
    calls: list[list[str]] = []

    class SlowAnalyzer:
        def might_find(self, text: str) -> bool:
            return True

        def analyze(self, text: str) -> list[Span]:
            return self.analyze_many([text])[0]

        def analyze_many(self, texts: list[str]) -> list[list[Span]]:
            calls.append(list(texts))
            release.wait(5)
            return [[Span("PERSON", 0, 3, 0.9, "slow")] for _ in texts]

    cache = CachingAnalyzer(SlowAnalyzer())
    text = "Ann went to the market on Tuesday."
    results: list[list[Span]] = []
    first = threading.Thread(target=lambda: results.append(cache.analyze(text)))
    first.start()
    while not calls:
        threading.Event().wait(0.001)
    second = threading.Thread(
        target=lambda: results.append(cache.analyze_many([text, "a different text here"])[0])
    )
    second.start()
    threading.Event().wait(0.05)
    release.set()
    first.join(5)
    second.join(5)
    assert calls == [[text], ["a different text here"]]
    assert results[0] == results[1] == [Span("PERSON", 0, 3, 0.9, "slow")]


def test_a_failed_analysis_fails_its_waiters_and_is_retried_later() -> None:
    from veil.detect.base import Span

    class Flaky:
        failures = 1

        def might_find(self, text: str) -> bool:
            return True

        def analyze(self, text: str) -> list[Span]:
            return self.analyze_many([text])[0]

        def analyze_many(self, texts: list[str]) -> list[list[Span]]:
            if self.failures:
                self.failures -= 1
                raise RuntimeError("model crashed")
            return [[] for _ in texts]

    cache = CachingAnalyzer(Flaky())
    with pytest.raises(RuntimeError):
        cache.analyze("some text long enough")
    assert cache.analyze("some text long enough") == []
