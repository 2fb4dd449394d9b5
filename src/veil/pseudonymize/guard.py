"""Response side: redact values the model produced that the caller never sent.

A model can repeat someone else's data (from training, from a tool result of another
user, from an injected prompt). Values of this scope's vault are the caller's own and
pass; anything else detected becomes `[REDACTED_<TYPE>]`, which is not a token and can
never be restored.

`StreamGuard` does this on a stream with a bounded hold-back: the trailing run of
characters that could still be part of a value (a word, an email, a digit group with
separators, an open PEM block) is kept until it ends, so a value split across deltas
is caught whole and no fragment of it is emitted first.
"""

from __future__ import annotations

import re
from collections import Counter

from veil.detect.base import Span, TextAnalyzer
from veil.errors import DetectionFailed, VaultUnavailable
from veil.pseudonymize.restore import fold_case
from veil.pseudonymize.vault import Vault

# The suffix that may still grow into a value: digit groups with phone/card separators,
# then a run of characters that emails, keys, URLs and encodings are made of.
_OPEN_TAIL = re.compile(r"(?:[+(]?\d[\d \-().]*)?[\w.%+\-@:/=~\\&?#$!*]*\Z")
# A private-key block is held until its END line.
_PEM_BEGIN = "-----BEGIN"
_PEM_END = "-----END"
_CONTEXT_CHARS = 48


def redaction_marker(entity_type: str) -> str:
    return f"[REDACTED_{entity_type}]"


class ResponseGuard:
    """Decides, for one scope, which detected values in a reply are new and redacts them."""

    def __init__(
        self, analyzer: TextAnalyzer, vault: Vault, scope: str, surrogates: frozenset[str] = frozenset()
    ) -> None:
        self._analyzer = analyzer
        self._vault = vault
        self._scope = scope
        # Stand-ins the request sent, in any case: the model echoing them is no leak.
        self._surrogates = frozenset(map(fold_case, surrogates))
        self.redacted: Counter[str] = Counter()

    def redact(self, text: str) -> str:
        """`text` with every new value replaced by its redaction marker."""
        if not self.might_find(text):
            return text
        return self.redact_slice(text, self.find(text), 0, len(text))

    def might_find(self, text: str) -> bool:
        try:
            return self._analyzer.might_find(text)
        except Exception as exc:
            raise DetectionFailed("A privacy check of the reply could not run.") from exc

    def find(self, text: str) -> list[Span]:
        try:
            return self._analyzer.analyze(text)
        except Exception as exc:
            raise DetectionFailed("A privacy check of the reply could not run.") from exc

    def redact_slice(self, text: str, spans: list[Span], start: int, end: int) -> str:
        """Redact new values among `spans` within text[start:end]; returns that slice."""
        pieces = []
        position = start
        for span in spans:
            if span.end <= start or span.start >= end:
                continue
            if self._is_callers(text[span.start : span.end]):
                continue
            left = max(span.start, start)
            pieces.append(text[position:left])
            pieces.append(redaction_marker(span.entity_type))
            self.redacted[span.entity_type] += 1
            position = min(span.end, end)
        pieces.append(text[position:end])
        return "".join(pieces)

    def _is_callers(self, value: str) -> bool:
        """A surrogate the request sent, or a value of this scope's vault. A detector may
        take in an opening bracket the value sits in ("(+1 415-555-0134)" gives
        "(+1 415-555-0134"): the value without it counts too."""
        candidates = dict.fromkeys((value, _without_open_bracket(value)))
        if any(fold_case(candidate) in self._surrogates for candidate in candidates):
            return True
        try:
            return any(self._vault.token_of(self._scope, candidate) is not None for candidate in candidates)
        except Exception as exc:
            raise VaultUnavailable("The token vault is unavailable; the reply cannot be checked.") from exc

    def stream(self, max_hold: int) -> StreamGuard:
        return StreamGuard(self, max_hold)


class StreamGuard:
    """ResponseGuard for one streamed text channel."""

    def __init__(self, guard: ResponseGuard, max_hold: int) -> None:
        self._guard = guard
        self._max_hold = max_hold
        self._pending = ""
        # Recently emitted raw text: detectors need it for cues such as "password:".
        self._context = ""

    def feed(self, delta: str) -> str:
        text = self._pending + delta
        cut = _open_tail_start(text)
        if len(text) - cut > self._max_hold:
            cut = len(text) - self._max_hold
        if cut == 0:
            self._pending = text
            return ""
        return self._release(text, cut)

    def finish(self) -> str:
        text, self._pending = self._pending, ""
        if not text:
            return ""
        return self._release(text, len(text))

    def _release(self, text: str, cut: int) -> str:
        """Emit text[:cut] (redacted), keep the rest pending."""
        context = self._context
        # The context joins the check: a cue already sent ("password:") can make a value.
        if not self._guard.might_find(context + text):
            ready = text[:cut]
        else:
            whole = context + text
            offset = len(context)
            spans = self._guard.find(whole)
            for span in spans:
                # A value still running past the cut is held back whole.
                if span.start < offset + cut < span.end and span.start >= offset:
                    cut = span.start - offset
            ready = self._guard.redact_slice(whole, spans, offset, offset + cut)
        raw_ready = text[:cut]
        self._pending = text[cut:]
        self._context = (context + raw_ready)[-_CONTEXT_CHARS:]
        return ready


def _without_open_bracket(value: str) -> str:
    if value.startswith(("(", "[")) and ")" not in value and "]" not in value:
        return value[1:]
    return value


def _open_tail_start(text: str) -> int:
    cut = _OPEN_TAIL.search(text).start()  # type: ignore[union-attr]  # always matches
    begin = text.rfind(_PEM_BEGIN)
    if begin != -1 and begin < cut and text.find(_PEM_END, begin) == -1:
        cut = begin
    return cut
