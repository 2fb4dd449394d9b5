"""In-process costs: detection per KB, per request side by side with Presidio, and the work
Veil does for each streamed delta."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import orjson

from bench.corpus import pii_prompt, prose, prose_deltas, reply_deltas
from bench.presidio_peer import PresidioPeer
from veil.detect.analyzer import Analyzer
from veil.detect.base import Span, TextAnalyzer
from veil.detect.registry import default_detectors
from veil.openai_api.chat import ChatStreamRewriter
from veil.pseudonymize.guard import ResponseGuard
from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.pseudonymizer import Pseudonymizer
from veil.pseudonymize.reply import ReplyFilter
from veil.pseudonymize.restore import Restorer

SCOPE = "key:bench"
REPEATS = 11

# One timed batch: (seconds spent in the timed part, operations done). Set-up that is
# not per operation (a new stream's filter) happens inside the batch but outside its clock.
Batch = Callable[[], tuple[float, int]]


@dataclass(frozen=True)
class Cost:
    """Microseconds per operation: the median batch, and the best one.

    On a shared machine other processes only ever add time, so the best batch is the
    closest to the code's own cost; the median is what a busy machine actually sees.
    """

    median: float
    best: float

    def per(self, amount: float) -> Cost:
        return Cost(self.median / amount, self.best / amount)

    def __str__(self) -> str:
        return f"{self.median:.1f} (best {self.best:.1f})"


def microseconds_per_op(batch: Batch, repeats: int = REPEATS) -> Cost:
    """Over `repeats` batches, after one warm-up batch."""
    batch()
    per_op = []
    for _ in range(repeats):
        elapsed, operations = batch()
        per_op.append(elapsed / operations * 1e6)
    return Cost(statistics.median(per_op), min(per_op))


def detection_us_per_kb(
    analyzer: TextAnalyzer, size: int, with_pii: bool, calls: int, repeats: int = REPEATS
) -> Cost:
    text = pii_prompt(size) if with_pii else prose(size)
    kilobytes = len(text.encode()) / 1024

    def batch() -> tuple[float, int]:
        started = time.perf_counter()
        for _ in range(calls):
            analyzer.analyze(text)
        return time.perf_counter() - started, calls

    return microseconds_per_op(batch, repeats).per(kilobytes)


# One request's work in process: (seconds finding, seconds rewriting, values found).
Engine = Callable[[str], tuple[float, float, int]]


@dataclass
class PerRequest:
    """Seconds per prompt, finding and rewriting, and values found, prompt by prompt."""

    find: list[float] = field(default_factory=list)
    rewrite: list[float] = field(default_factory=list)
    found: list[int] = field(default_factory=list)

    @property
    def total(self) -> list[float]:
        return [f + r for f, r in zip(self.find, self.rewrite, strict=True)]


def side_by_side(
    engines: Mapping[str, Engine], prompts: Sequence[str], warmup: int = 3
) -> dict[str, PerRequest]:
    """Every engine on every prompt, rotating which goes first, after `warmup` untimed prompts."""
    results = {name: PerRequest() for name in engines}
    names = list(engines)
    for index, prompt in enumerate(prompts):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            find, rewrite, found = engines[name](prompt)
            if index >= warmup:
                results[name].find.append(find)
                results[name].rewrite.append(rewrite)
                results[name].found.append(found)
    return results


class _Known:
    """Hands the Pseudonymizer spans already found, so its rewrite is timed on its own."""

    def __init__(self, spans: list[Span]) -> None:
        self._spans = spans

    def analyze(self, text: str) -> list[Span]:
        return self._spans

    def analyze_many(self, texts: Sequence[str]) -> list[list[Span]]:
        return [self._spans for _ in texts]

    def might_find(self, text: str) -> bool:
        return bool(self._spans)


def veil_engine(analyzer: TextAnalyzer) -> Engine:
    """`analyze_many`, then `Pseudonymizer.pseudonymize` into a MemoryVault (new tokens minted)."""
    vault = MemoryVault(ttl_seconds=3600)

    def run(text: str) -> tuple[float, float, int]:
        started = time.perf_counter()
        spans = analyzer.analyze_many([text])[0]
        found = time.perf_counter()
        Pseudonymizer(_Known(spans), vault).pseudonymize(SCOPE, [text])
        return found - started, time.perf_counter() - found, len(spans)

    return run


def presidio_engine(peer: PresidioPeer) -> Engine:
    """`AnalyzerEngine.analyze`, then `AnonymizerEngine.anonymize` (replace with `<TYPE>`)."""

    def run(text: str) -> tuple[float, float, int]:
        started = time.perf_counter()
        results = peer.results(text)
        found = time.perf_counter()
        peer.anonymize(text, results)
        return found - started, time.perf_counter() - found, len(results)

    return run


def _reply_filter() -> ReplyFilter:
    """As in the gateway: a vault holding the prompt's values, a guard and a restorer."""
    analyzer = Analyzer(default_detectors())
    vault = MemoryVault(ttl_seconds=3600)
    Pseudonymizer(analyzer, vault).pseudonymize(SCOPE, [pii_prompt(1024)])
    return ReplyFilter(ResponseGuard(analyzer, vault, SCOPE), Restorer(vault, SCOPE), max_hold=8192)


def _payloads(deltas: list[str]) -> list[str]:
    envelope = {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "system_fingerprint": "fp_bench",
    }
    return [
        json.dumps(
            {
                **envelope,
                "choices": [{"index": 0, "delta": {"content": d}, "logprobs": None, "finish_reason": None}],
            }
        )
        for d in deltas
    ]


def rewrite_us_per_delta(deltas: list[str]) -> Cost:
    """`ChatStreamRewriter.rewrite` per SSE payload, with a fresh rewriter per stream."""
    payloads = _payloads(deltas)

    def batch() -> tuple[float, int]:
        rewrite = ChatStreamRewriter(_reply_filter().channel).rewrite
        started = time.perf_counter()
        for payload in payloads:
            rewrite(payload)
        return time.perf_counter() - started, len(payloads)

    return microseconds_per_op(batch)


def text_filter_us_per_delta(deltas: list[str]) -> Cost:
    """`reply.channel(False).feed(word)` alone: the guard and the restorer, no JSON."""

    def batch() -> tuple[float, int]:
        feed = _reply_filter().channel(False).feed
        started = time.perf_counter()
        for delta in deltas:
            feed(delta)
        return time.perf_counter() - started, len(deltas)

    return microseconds_per_op(batch)


def json_floor_us_per_delta(deltas: list[str]) -> Cost:
    """orjson.loads + orjson.dumps of the same payloads (what the gateway uses): the floor
    for any rewrite of SSE JSON."""
    payloads = _payloads(deltas)

    def batch() -> tuple[float, int]:
        started = time.perf_counter()
        for payload in payloads:
            orjson.dumps(orjson.loads(payload))
        return time.perf_counter() - started, len(payloads)

    return microseconds_per_op(batch)


def delta_sets(count: int) -> dict[str, list[str]]:
    return {"prose": prose_deltas(count), "reply with tokens and numbers": reply_deltas(count)}


def model_floor_ms(prompts: Sequence[str]) -> dict[str, Cost]:
    """Milliseconds per prompt for the spaCy model's own steps, with nothing of Veil's around
    them: the floor any gateway on this model pays for a text it has not seen.

    The pipeline is Veil's (`load_pipeline`: tokenizer and NER only). Each step gets its own
    batches of the same prompts: the tokenizer, the NER's embedding layer (tok2vec), the
    whole NER (embedding plus transition decoding), and Veil's NER detector around it.
    """
    from veil.detect.ner import NerDetector, load_pipeline

    nlp = load_pipeline()
    ner = nlp.get_pipe("ner")
    tok2vec = ner.model.get_ref("tok2vec")
    detector = NerDetector(nlp)
    docs = [nlp.make_doc(prompt) for prompt in prompts]
    steps: dict[str, Callable[[int], object]] = {
        "tokenizer": lambda i: nlp.make_doc(prompts[i]),
        "tok2vec (embedding)": lambda i: tok2vec.predict([docs[i]]),
        "NER predict (tok2vec + transition decoding)": lambda i: ner.predict([docs[i]]),
        "Veil's NerDetector.find (the above + clean-up and review)": lambda i: detector.find(prompts[i]),
    }

    def timed(step: Callable[[int], object]) -> Batch:
        def batch() -> tuple[float, int]:
            started = time.perf_counter()
            for i in range(len(prompts)):
                step(i)
            return time.perf_counter() - started, len(prompts)

        return batch

    return {name: microseconds_per_op(timed(step)).per(1000) for name, step in steps.items()}
