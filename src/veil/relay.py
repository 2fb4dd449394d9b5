"""Relaying a streamed reply: upstream SSE in, the endpoint's rewriter in between, the
client's SSE out.

Events that arrived together leave together, each arrival at once. The stream's end
(chat's `[DONE]`, the Responses API's `response.completed`, `failed` or `incomplete`) is
sent only once the request's record is committed. When anything fails midway, the
upstream's stream included (cut, reset, stalled, or closed before its end event),
whatever was held back stays held back, the client gets an error event instead of the
stream's end, and the request is recorded as failed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import httpx
from starlette.responses import StreamingResponse

from veil.errors import UpstreamTimeout, UpstreamTruncated, UpstreamUnavailable, VeilError, error_body
from veil.metrics import Metrics
from veil.openai_api.rewriter import StreamRewriter
from veil.openai_api.sse import SSEDecoder
from veil.pseudonymize.reply import ReplyFilter
from veil.recording import Recorder, take_stream_usage
from veil.store.records import Exchange
from veil.upstream import map_upstream_errors

log = logging.getLogger("veil.relay")
# What the upstream's stream did wrong; other errors are counted where they happen (a record
# not stored, in `Recorder.commit`), or are no upstream's fault (the reply filter's).
_UPSTREAM_ERRORS = (UpstreamUnavailable, UpstreamTimeout, UpstreamTruncated)


class StreamRelay:
    def __init__(self, recorder: Recorder, metrics: Metrics) -> None:
        self._recorder = recorder
        self._metrics = metrics

    def response(
        self,
        upstream: httpx.Response,
        rewriter: StreamRewriter,
        reply: ReplyFilter,
        exchange: Exchange,
        headers: dict[str, str],
        *,
        after_reply: Callable[[ReplyFilter], None],
        closed: Callable[[], None],
    ) -> StreamingResponse:
        """The client's stream. `after_reply` runs once the reply is settled (sent or not);
        `closed` when the stream is over."""
        exchange.status = 200
        mode = self._recorder.stored_mode(exchange)
        kept: list[str] = []
        if mode in ("pseudonymized", "full"):
            exchange.response = kept
        # The payloads that end the stream, held until the record is committed.
        ends: list[str] = []

        def holding_ends(payloads: list[str]) -> list[str]:
            released: list[str] = []
            for payload in payloads:
                (ends if rewriter.ends_stream(payload) else released).append(payload)
            return released

        def rewrite(payload: str) -> list[str]:
            take_stream_usage(exchange, payload)
            if mode == "pseudonymized":
                kept.append(payload)
            released = holding_ends(rewriter.rewrite(payload))
            if mode == "full":
                kept.extend(released)
            return released

        def encoded(payloads: list[str]) -> bytes:
            return b"".join(rewriter.encode(o) for p in payloads for o in rewrite(p))

        async def events() -> AsyncIterator[bytes]:
            decoder = SSEDecoder()
            saved = False
            try:
                with map_upstream_errors():
                    async for chunk in upstream.aiter_bytes():
                        if out := encoded(decoder.feed(chunk)):
                            yield out
                if out := encoded(decoder.close()):
                    yield out
                # Raises UpstreamTruncated when the stream ended before its end event.
                tail = holding_ends(rewriter.end_of_upstream()) + ends
                if not ends:
                    # The upstream's own error event ended it: no reply came whole.
                    exchange.status, exchange.outcome = 502, "failed"
                if mode == "full":
                    kept.extend(tail)
                exchange.response_entities = reply.redacted
                # A client that saw its reply complete can count on its record.
                saved = True
                await self._recorder.commit(exchange)
                after_reply(reply)
                yield b"".join(rewriter.encode(o) for o in tail)
            except VeilError as error:
                exchange.status, exchange.outcome = error.status_code, "failed"
                if isinstance(error, _UPSTREAM_ERRORS):
                    self._metrics.upstream_errors.labels(error.code).inc()
                log.warning("stream %s ended early: %s", exchange.request_id, error.code)
                yield rewriter.encode(rewriter.error(error.body()))
            except Exception as exc:
                exchange.status, exchange.outcome = 500, "failed"
                # Fail closed: whatever was held back stays held back. No traceback: its
                # messages could quote the text being filtered.
                log.error("stream %s failed while filtering: %s", exchange.request_id, type(exc).__name__)
                body = error_body("Veil could not filter the reply.", "server_error", "filter_failed")
                yield rewriter.encode(rewriter.error(body))
            finally:
                await upstream.aclose()
                if not saved:
                    exchange.response_entities = reply.redacted
                    self._recorder.commit_later(exchange)
                    after_reply(reply)
                closed()

        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)
