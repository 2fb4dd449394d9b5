"""What an endpoint's reply rewriter is given, and what the stream relay asks of it.

A rewriter is handed the request's reply filter (`ReplyText`: guard, then restore) and
decides where the text is: which strings are free text, which form one streamed channel,
and which are JSON documents whose restored values must be JSON-escaped.
"""

from __future__ import annotations

from typing import Any, Protocol


class TextFilter(Protocol):
    """One text channel's filter: text in, text that may be shown now out."""

    def feed(self, delta: str) -> str: ...

    def finish(self) -> str: ...


class WholeTextFilter(Protocol):
    def __call__(self, text: str, *, json_string: bool) -> str: ...


class ReplyText(WholeTextFilter, Protocol):
    """A request's reply filter: whole texts, and a new channel per streamed text."""

    def channel(self, json_string: bool) -> TextFilter: ...


class StreamRewriter(Protocol):
    """Rewrites one SSE reply stream, payload by payload (an event's `data`).

    The relay holds back the payloads for which `ends_stream` is true (chat's `[DONE]`,
    the Responses API's `response.completed`) until the request's record is committed.
    """

    def rewrite(self, payload: str) -> list[str]:
        """The payloads to send for one upstream payload (none, one, or several)."""
        ...

    def end_of_upstream(self) -> list[str]:
        """The upstream closed its stream: what is left to send at a clean end (text held
        back, the stream's end). At a cut one (no end event came) the unfinished text is
        withheld and `errors.UpstreamTruncated` is raised, even when nothing was held: a
        reply cut before its first word is no empty answer."""
        ...

    def ends_stream(self, payload: str) -> bool: ...

    def error(self, body: dict[str, Any]) -> str:
        """The payload telling the client the stream failed (an OpenAI error body)."""
        ...

    def encode(self, payload: str) -> bytes:
        """The payload as one server-sent event."""
        ...
