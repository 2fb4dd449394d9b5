"""The HTTP routes: read, pseudonymize, forward, restore. Nothing raw leaves, nothing raw is logged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from veil.detect.base import TextAnalyzer
from veil.errors import ConsentWithdrawn, StorageUnavailable, VeilError, error_body
from veil.metrics import Metrics
from veil.openai_api.chat import DONE, ChatStreamRewriter, rewrite_completion
from veil.openai_api.requests import check_chat_request, read_json
from veil.openai_api.sse import SSEDecoder, encode_event
from veil.openai_api.text_fields import text_slots
from veil.pseudonymize.guard import ResponseGuard
from veil.pseudonymize.pseudonymizer import Pseudonymizer
from veil.pseudonymize.reply import ReplyFilter
from veil.pseudonymize.restore import Restorer
from veil.pseudonymize.vault import Vault
from veil.scope import ScopeResolver
from veil.store.consent import PURPOSES, ConsentLedger, ConsentState
from veil.store.records import Exchange, RecordStore
from veil.upstream import Upstream, map_upstream_errors

log = logging.getLogger("veil.proxy")

# Hop-by-hop and framing headers are the server's business, not the upstream's.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "set-cookie"}
)


class Gateway:
    def __init__(
        self,
        *,
        reply_analyzer: TextAnalyzer,
        pseudonymizer: Pseudonymizer,
        vault: Vault,
        scopes: ScopeResolver,
        upstream: Upstream,
        records: RecordStore,
        consents: ConsentLedger,
        policy_version: str,
        metrics: Metrics,
        max_body_bytes: int,
        inline_detection_chars: int,
        warm_cache: bool,
        scan_responses: bool,
        stream_hold_max_chars: int,
    ) -> None:
        self._reply_analyzer = reply_analyzer
        self._inline_detection_chars = inline_detection_chars
        self._warm_cache = warm_cache
        self._warming: set[asyncio.Task[None]] = set()
        self._pseudonymizer = pseudonymizer
        self._vault = vault
        self._scopes = scopes
        self._upstream = upstream
        self._records = records
        self._consents = consents
        self._policy_version = policy_version
        self._saving: set[asyncio.Task[None]] = set()
        self._metrics = metrics
        self._max_body_bytes = max_body_bytes
        self._scan_responses = scan_responses
        self._hold = stream_hold_max_chars

    def routes(self) -> list[Route]:
        return [
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/models/{model:path}", self.models, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
        ]

    async def chat_completions(self, request: Request) -> Response:
        request_id = f"veil-{uuid.uuid4().hex}"
        started = time.perf_counter()
        endpoint = "chat_completions"
        exchange: Exchange | None = None
        try:
            body = await read_json(request, self._max_body_bytes)
            check_chat_request(body)
            scope = self._scopes.resolve(body, request.headers)
            exchange = self._exchange(request_id, scope, endpoint, body)
            consent = await self._consent(exchange)
            stored = self._records.stored_mode(exchange)
            if stored == "full":
                exchange.request = orjson.loads(orjson.dumps(body))
            self._scopes.hide_subject(body)
            if not consent.allows("provider_retention"):
                # The provider keeps nothing on its side: no stored completion, no metadata tags.
                body["store"] = False
                body.pop("metadata", None)
            exchange.request_entities = await self._pseudonymize(scope, body)
            if stored == "pseudonymized":
                exchange.request = body
            receipt = {
                "x-request-id": request_id,
                "x-veil-redactions": _receipt(exchange.request_entities),
                "x-veil-stored": stored,
                "x-veil-policy-version": self._policy_version,
            }
            reply = self._reply_filter(scope)
            upstream_request = self._upstream.request(
                "POST",
                "/chat/completions",
                self._upstream.headers(request.headers),
                json.dumps(body, ensure_ascii=False).encode(),
            )
            if exchange.stream:
                return await self._stream(upstream_request, reply, receipt, started, exchange)
            upstream_response = await self._upstream.send(upstream_request)
            response = self._whole(upstream_response, reply, receipt, exchange)
            await self._save(exchange)
            self._warm(reply)
        except VeilError as error:
            response = _error_response(error, request_id)
            if (
                exchange is not None
                and exchange.outcome == "forwarded"
                and not isinstance(error, StorageUnavailable)
            ):
                exchange.status, exchange.outcome = error.status_code, "failed"
                self._save_later(exchange)
        self._done(endpoint, request_id, response.status_code, started)
        return response

    async def _consent(self, exchange: Exchange) -> ConsentState:
        """The subject's consent, read fresh for every request: a change counts at once.
        Refuses the request (403, recorded) when sending to the provider is withdrawn."""
        state = await anyio.to_thread.run_sync(self._consents.state, exchange.subject)
        exchange.consent = {purpose: state.allows(purpose) for purpose in PURPOSES}
        exchange.transcript_allowed = state.allows("store_transcripts")
        if not state.allows("send_to_provider"):
            exchange.status, exchange.outcome = ConsentWithdrawn.status_code, "refused_consent"
            await self._save(exchange)
            raise ConsentWithdrawn(
                "This user has withdrawn consent to send requests to the AI provider;"
                " nothing was forwarded."
            )
        return state

    async def models(self, request: Request) -> Response:
        request_id = f"veil-{uuid.uuid4().hex}"
        started = time.perf_counter()
        try:
            upstream_request = self._upstream.request(
                "GET", request.url.path.removeprefix("/v1"), self._upstream.headers(request.headers)
            )
            upstream_response = await self._upstream.send(upstream_request)
            response = Response(
                upstream_response.content,
                status_code=upstream_response.status_code,
                headers={**_passed_headers(upstream_response), "x-request-id": request_id},
                media_type=upstream_response.headers.get("content-type"),
            )
        except VeilError as error:
            response = _error_response(error, request_id)
        self._done("models", request_id, response.status_code, started)
        return response

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        return Response(self._metrics.render(), media_type=self._metrics.content_type)

    async def _pseudonymize(self, scope: str, body: dict[str, Any]) -> Counter[str]:
        started = time.perf_counter()
        slots = text_slots(body)
        texts = [slot.get() for slot in slots]
        if sum(map(len, texts)) > self._inline_detection_chars:
            # Off the event loop when large, or always with a model loaded: other requests keep flowing.
            result = await anyio.to_thread.run_sync(self._pseudonymizer.pseudonymize, scope, texts)
        else:
            result = self._pseudonymizer.pseudonymize(scope, texts)
        for slot, text in zip(slots, result.texts, strict=True):
            slot.set(text)
        self._metrics.detection.observe(time.perf_counter() - started)
        for entity_type, count in result.counts.items():
            self._metrics.entities.labels(entity_type, "request").inc(count)
        return result.counts

    def _reply_filter(self, scope: str) -> ReplyFilter:
        guard = ResponseGuard(self._reply_analyzer, self._vault, scope) if self._scan_responses else None
        return ReplyFilter(guard, Restorer(self._vault, scope), self._hold)

    def _whole(
        self, upstream: httpx.Response, reply: ReplyFilter, receipt: dict[str, str], exchange: Exchange
    ) -> Response:
        headers = {**_passed_headers(upstream), **receipt}
        exchange.status = upstream.status_code
        stored = self._records.stored_mode(exchange)
        try:
            document = upstream.json()
        except ValueError:
            self._metrics.upstream_errors.labels("invalid_json").inc()
            text = reply(upstream.text, json_string=False)
            exchange.response_entities = reply.redacted
            if stored in ("pseudonymized", "full"):
                exchange.response = text if stored == "full" else upstream.text
            return Response(
                text,
                status_code=upstream.status_code,
                headers=headers,
                media_type=upstream.headers.get("content-type"),
            )
        if upstream.status_code >= 400:
            self._metrics.upstream_errors.labels(f"http_{upstream.status_code}").inc()
        if stored == "pseudonymized":
            exchange.response = orjson.loads(upstream.content)
        _take_usage(exchange, document)
        rewrite_completion(document, reply)
        if stored == "full":
            exchange.response = document
        exchange.response_entities = reply.redacted
        self._count_reply(reply)
        headers["x-veil-response-redactions"] = _receipt(reply.redacted)
        return JSONResponse(document, status_code=upstream.status_code, headers=headers)

    async def _stream(
        self,
        upstream_request: httpx.Request,
        reply: ReplyFilter,
        receipt: dict[str, str],
        started: float,
        exchange: Exchange,
    ) -> Response:
        upstream = await self._upstream.send(upstream_request, stream=True)
        if upstream.status_code != 200 or "text/event-stream" not in upstream.headers.get("content-type", ""):
            try:
                await upstream.aread()
            finally:
                await upstream.aclose()
            response = self._whole(upstream, reply, receipt, exchange)
            await self._save(exchange)
            self._warm(reply)
            return response
        request_id = exchange.request_id
        exchange.status = 200
        mode = self._records.stored_mode(exchange)
        kept: list[str] = []
        if mode in ("pseudonymized", "full"):
            exchange.response = kept

        # The upstream's [DONE] is sent on only once the record is committed.
        ended: list[bool] = []

        def rewrite(payload: str) -> list[str]:
            _take_stream_usage(exchange, payload)
            if mode == "pseudonymized":
                kept.append(payload)
            released = _without_done(rewriter.rewrite(payload), ended)
            if mode == "full":
                kept.extend(released)
            return released

        rewriter = ChatStreamRewriter(reply.channel)

        async def events() -> AsyncIterator[bytes]:
            decoder = SSEDecoder()
            saved = False
            try:
                with map_upstream_errors():
                    # Events that arrived together leave together; each arrival is sent at once.
                    async for chunk in upstream.aiter_bytes():
                        out = [encode_event(o) for p in decoder.feed(chunk) for o in rewrite(p)]
                        if out:
                            yield b"".join(out)
                out = [encode_event(o) for p in decoder.close() for o in rewrite(p)]
                tail = _without_done(rewriter.end_of_upstream(), ended)
                if ended:
                    tail.append(DONE)
                if mode == "full":
                    kept.extend(tail)
                exchange.response_entities = reply.redacted
                # The record is committed before the stream's end is sent: a client that saw
                # its reply complete can count on its record.
                saved = True
                await self._save(exchange)
                self._count_reply(reply)
                self._warm(reply)
                yield b"".join(out + [encode_event(o) for o in tail])
            except VeilError as error:
                self._metrics.upstream_errors.labels(error.code).inc()
                log.warning("stream %s ended early: %s", request_id, error.code)
                yield encode_event(json.dumps(error.body()))
            except Exception as exc:
                # Fail closed: whatever was held back stays held back. No traceback: its
                # messages could quote the text being filtered.
                log.error("stream %s failed while filtering: %s", request_id, type(exc).__name__)
                body = error_body("Veil could not filter the reply.", "server_error", "filter_failed")
                yield encode_event(json.dumps(body))
            finally:
                await upstream.aclose()
                if not saved:
                    exchange.response_entities = reply.redacted
                    self._save_later(exchange)
                    self._count_reply(reply)
                    self._warm(reply)
                self._done(exchange.endpoint, request_id, 200, started)

        headers = {**_passed_headers(upstream), **receipt, "cache-control": "no-cache"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    def _exchange(self, request_id: str, scope: str, endpoint: str, body: dict[str, Any]) -> Exchange:
        model = body.get("model")
        return Exchange(
            request_id=request_id,
            subject=scope,
            endpoint=endpoint,
            model=model if isinstance(model, str) else None,
            stream=bool(body.get("stream")),
            started_at=time.time(),
        )

    async def _save(self, exchange: Exchange) -> None:
        """Commit the request's audit entry and record before the reply is released; fail
        closed if they cannot be."""
        exchange.policy_version = self._policy_version
        try:
            await anyio.to_thread.run_sync(self._records.save, exchange)
        except Exception as exc:
            self._metrics.storage_errors.inc()
            log.error("request %s: record not stored: %s", exchange.request_id, type(exc).__name__)
            raise StorageUnavailable(
                "Veil could not record this request, as its audit and storage policy require;"
                " the reply was withheld."
            ) from None

    def _save_later(self, exchange: Exchange) -> None:
        """Best effort, off the response's path: the record of a request that failed."""
        task = asyncio.get_running_loop().create_task(self._save_quietly(exchange))
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)

    async def _save_quietly(self, exchange: Exchange) -> None:
        with contextlib.suppress(StorageUnavailable):
            await self._save(exchange)

    def _warm(self, reply: ReplyFilter) -> None:
        """Analyse the reply the client got, after it got it: the app re-sends it as history
        next turn, and then it is a cache hit instead of a model pass on the request's path."""
        texts = [text for text in reply.texts() if text]
        if not self._warm_cache or not texts:
            return
        task = asyncio.get_running_loop().create_task(self._prefetch(texts))
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    async def _prefetch(self, texts: list[str]) -> None:
        try:
            await anyio.to_thread.run_sync(self._pseudonymizer.prefetch, texts)
        except Exception as exc:
            log.warning("cache warm-up failed: %s", type(exc).__name__)

    def _count_reply(self, reply: ReplyFilter) -> None:
        for entity_type, count in reply.redacted.items():
            self._metrics.entities.labels(entity_type, "response").inc(count)
        self._metrics.tokens.labels("restored").inc(reply.restored)
        self._metrics.tokens.labels("unknown").inc(reply.unknown_tokens)

    def _done(self, endpoint: str, request_id: str, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        self._metrics.requests.labels(endpoint, str(status)).inc()
        self._metrics.latency.labels(endpoint).observe(elapsed)
        log.info("%s %s status=%d ms=%.1f", request_id, endpoint, status, elapsed * 1000)


def _without_done(payloads: list[str], ended: list[bool]) -> list[str]:
    """`payloads` less the end-of-stream marker; `ended` gets an entry if it was there."""
    if DONE not in payloads:
        return payloads
    ended.append(True)
    return [payload for payload in payloads if payload != DONE]


def _take_usage(exchange: Exchange, document: Any) -> None:
    usage = document.get("usage") if isinstance(document, dict) else None
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        exchange.prompt_tokens = prompt if isinstance(prompt, int) else exchange.prompt_tokens
        exchange.completion_tokens = completion if isinstance(completion, int) else exchange.completion_tokens


def _take_stream_usage(exchange: Exchange, payload: str) -> None:
    # Only the last chunk carries usage (stream_options.include_usage); a cheap test first.
    if '"usage"' in payload and '"usage":null' not in payload.replace(" ", ""):
        with contextlib.suppress(orjson.JSONDecodeError):
            _take_usage(exchange, orjson.loads(payload))


def _receipt(counts: Counter[str]) -> str:
    return ",".join(f"{kind}={count}" for kind, count in sorted(counts.items())) or "none"


def _passed_headers(upstream: httpx.Response) -> dict[str, str]:
    return {
        name: value
        for name, value in upstream.headers.items()
        if name.lower() not in _DROPPED_RESPONSE_HEADERS and name.lower() != "content-type"
    }


def _error_response(error: VeilError, request_id: str) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status_code, headers={"x-request-id": request_id})
