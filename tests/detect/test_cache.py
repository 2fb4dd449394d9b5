from __future__ import annotations

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
