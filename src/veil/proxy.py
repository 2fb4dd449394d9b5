"""The HTTP routes: read, pseudonymize, forward, restore, record. Nothing raw leaves, nothing raw
is logged."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import httpx
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from veil.detect.base import TextAnalyzer
from veil.errors import (
    Blocked,
    ConsentWithdrawn,
    InvalidRequest,
    StorageUnavailable,
    VeilError,
    error_body,
)
from veil.metrics import Metrics
from veil.openai_api.choices import rewrite_document
from veil.openai_api.endpoints import Endpoint, OpenStream, default_endpoints
from veil.openai_api.reply_json import load_reply_json
from veil.openai_api.requests import read_json
from veil.openai_api.text_fields import text_slots
from veil.pseudonymize.guard import ResponseGuard
from veil.pseudonymize.pseudonymizer import Pseudonymized, Pseudonymizer
from veil.pseudonymize.reply import ReplyFilter
from veil.pseudonymize.restore import Restorer
from veil.pseudonymize.vault import Vault
from veil.recording import Recorder, take_usage
from veil.relay import StreamRelay
from veil.scope import SUBJECT_FIELDS, ScopeResolver
from veil.store.consent import PURPOSES, ConsentLedger
from veil.store.database import StoreError
from veil.store.records import Exchange, RecordStore
from veil.tenancy import Tenancies, Tenancy
from veil.upstream import Upstream

log = logging.getLogger("veil.proxy")

# Hop-by-hop and framing headers are the server's business, not the upstream's.
_DROPPED_RESPONSE_HEADERS = frozenset(
    {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "set-cookie"}
)


@dataclass(frozen=True, slots=True)
class _Admitted:
    """A request let through: its values replaced, and how long finding and replacing took."""

    result: Pseudonymized
    detection_seconds: float


class Gateway:
    """The routes. Every filtered endpoint (see `openai_api.endpoints`) runs one handler:
    read, scope, consent, pseudonymize, forward, restore (whole or streamed), record."""

    def __init__(
        self,
        *,
        reply_analyzer: TextAnalyzer,
        pseudonymizer: Pseudonymizer,
        vault: Vault,
        scopes: ScopeResolver,
        tenancies: Tenancies,
        upstream: Upstream,
        records: RecordStore,
        consents: ConsentLedger,
        metrics: Metrics,
        max_body_bytes: int,
        warm_cache: bool,
        stream_hold_max_chars: int,
        endpoints: Sequence[Endpoint] | None = None,
    ) -> None:
        self._reply_analyzer = reply_analyzer
        self._tenancies = tenancies
        self._warm_cache = warm_cache
        self._warming: set[asyncio.Task[None]] = set()
        self._pseudonymizer = pseudonymizer
        self._vault = vault
        self._scopes = scopes
        self._upstream = upstream
        self._recorder = Recorder(records, metrics)
        self._relay = StreamRelay(self._recorder, metrics)
        self._consents = consents
        self._metrics = metrics
        self._max_body_bytes = max_body_bytes
        self._hold = stream_hold_max_chars
        self._endpoints = tuple(endpoints) if endpoints is not None else default_endpoints()

    def routes(self) -> list[Route]:
        return [
            *(Route("/v1" + e.path, self._handler(e), methods=["POST"]) for e in self._endpoints),
            Route("/v1/models", self.models, methods=["GET"]),
            Route("/v1/models/{model:path}", self.models, methods=["GET"]),
            Route("/healthz", self.healthz, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
        ]

    def _handler(self, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            return await self.handle(endpoint, request)

        return handle

    async def handle(self, endpoint: Endpoint, request: Request) -> Response:
        request_id = f"veil-{uuid.uuid4().hex}"
        started = time.perf_counter()
        exchange: Exchange | None = None
        try:
            with _store_unavailable():
                tenancy = await self._tenancies.resolve(request.headers)
            body = await read_json(request, self._max_body_bytes)
            endpoint.check(body)
            scope = self._scopes.resolve(body, request.headers, tenancy.tenant)
            exchange = self._exchange(request_id, scope, endpoint, body, tenancy)
            pseudonymized = await self._admit(endpoint, body, tenancy, exchange)
            stored = self._recorder.stored_mode(exchange)
            exchange.request_entities = pseudonymized.counts
            exchange.actions = dict(pseudonymized.actions)
            if stored == "pseudonymized":
                exchange.request = body
            receipt = {
                "x-request-id": request_id,
                "x-veil-redactions": _receipt(exchange.request_entities),
                "x-veil-stored": stored,
                "x-veil-policy-version": tenancy.policy_version,
            }
            reply = self._reply_filter(scope, tenancy, pseudonymized.surrogates)
            upstream_request = self._upstream.request(
                "POST",
                endpoint.path,
                self._upstream.headers(request.headers, tenancy.upstream_key),
                json.dumps(body, ensure_ascii=False).encode(),
            )
            if exchange.stream and endpoint.stream is not None:
                open_stream = endpoint.stream
                return await self._stream(
                    endpoint,
                    open_stream,
                    body,
                    upstream_request,
                    reply,
                    receipt,
                    started,
                    exchange,
                    tenancy.analyzer,
                )
            upstream_response = await self._upstream.send(upstream_request)
            response = self._whole(endpoint, body, upstream_response, reply, receipt, exchange)
            await self._recorder.commit(exchange)
            self._after_reply(reply, tenancy.analyzer)
        except VeilError as error:
            response = _error_response(error, request_id)
            if exchange is not None and isinstance(error, Blocked):
                # A decision, like a consent refusal: on record before the answer leaves.
                exchange.status, exchange.outcome = error.status_code, "blocked"
                exchange.actions = dict.fromkeys(error.entity_types, "block")
                try:
                    await self._recorder.commit(exchange)
                except StorageUnavailable as unrecorded:
                    response = _error_response(unrecorded, request_id)
            elif (
                exchange is not None
                and exchange.outcome == "forwarded"
                and not isinstance(error, StorageUnavailable)
            ):
                exchange.status, exchange.outcome = error.status_code, "failed"
                self._recorder.commit_later(exchange)
        self._done(endpoint.name, request_id, response.status_code, started)
        return response

    async def _admit(
        self, endpoint: Endpoint, body: dict[str, Any], tenancy: Tenancy, exchange: Exchange
    ) -> Pseudonymized:
        """Consent, then the body as the provider may have it, then its values replaced: one
        worker-thread call, since the consent read and the vault (and a model) may wait.

        Consent is read fresh for every request, so a change counts at once. A refusal
        (consent withdrawn: 403; a parameter that needs provider retention: 400) and a
        blocked type (400) are on record before the answer leaves; nothing is forwarded.
        """
        try:
            admitted = await anyio.to_thread.run_sync(self._admission, endpoint, body, tenancy, exchange)
        except VeilError:
            if exchange.outcome == "refused_consent":
                await self._recorder.commit(exchange)
            raise
        self._metrics.detection.observe(admitted.detection_seconds)
        for entity_type, count in admitted.result.counts.items():
            self._metrics.entities.labels(entity_type, "request").inc(count)
        return admitted.result

    def _admission(
        self, endpoint: Endpoint, body: dict[str, Any], tenancy: Tenancy, exchange: Exchange
    ) -> _Admitted:
        """`_admit`'s work, in the worker thread: the body and the exchange are this request's alone."""
        with _store_unavailable():
            consent = self._consents.state(exchange.subject)
        exchange.consent = {purpose: consent.allows(purpose) for purpose in PURPOSES}
        exchange.transcript_allowed = consent.allows("store_transcripts")
        if not consent.allows("send_to_provider"):
            exchange.status, exchange.outcome = ConsentWithdrawn.status_code, "refused_consent"
            raise ConsentWithdrawn(
                "This user has withdrawn consent to send requests to the AI provider; nothing was forwarded."
            )
        policy = tenancy.policy
        if self._recorder.stored_mode(exchange) == "full":
            exchange.request = orjson.loads(orjson.dumps(body))
        if policy.provider.subject_ids == "drop":
            for field in SUBJECT_FIELDS:
                body.pop(field, None)
        self._scopes.hide_subject(body)
        retention_allowed = consent.allows("provider_retention") and not policy.provider.force_store_false
        if endpoint.provider_store and not retention_allowed:
            self._refuse_provider_state(endpoint, body, exchange)
            # The provider keeps nothing on its side: no stored completion or response,
            # no metadata tags.
            body["store"] = False
            body.pop("metadata", None)
        if policy.provider.drop_metadata:
            body.pop("metadata", None)
        started = time.perf_counter()
        slots = text_slots(body)
        result = self._pseudonymizer.pseudonymize(
            exchange.subject, [slot.get() for slot in slots], policy, tenancy.analyzer
        )
        for slot, text in zip(slots, result.texts, strict=True):
            slot.set(text)
        return _Admitted(result, time.perf_counter() - started)

    def _refuse_provider_state(self, endpoint: Endpoint, body: dict[str, Any], exchange: Exchange) -> None:
        """A parameter that needs responses kept at the provider (`previous_response_id`,
        `conversation`, `background`) cannot work with `store: false`: refused (400,
        recorded) before anything is forwarded, rather than failing upstream."""
        param = endpoint.provider_state(body)
        if param is None:
            return
        exchange.status, exchange.outcome = InvalidRequest.status_code, "refused_consent"
        raise InvalidRequest(
            f"'{param}' needs the AI provider to keep responses, which this user has not agreed to"
            " (consent purpose 'provider_retention') or the privacy policy does not allow;"
            " nothing was forwarded. Send the conversation so far in 'input' instead.",
            param=param,
        )

    async def models(self, request: Request) -> Response:
        request_id = f"veil-{uuid.uuid4().hex}"
        started = time.perf_counter()
        try:
            with _store_unavailable():
                tenancy = await self._tenancies.resolve(request.headers)
            model = request.path_params.get("model")
            upstream_request = self._upstream.request(
                "GET",
                "/models" if model is None else f"/models/{_model_path(model)}",
                self._upstream.headers(request.headers, tenancy.upstream_key),
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

    def _reply_filter(self, scope: str, tenancy: Tenancy, surrogates: dict[str, str]) -> ReplyFilter:
        guard = None
        if tenancy.policy.response_scanning == "redact":
            known = frozenset(surrogate.lower() for surrogate in surrogates)
            guard = ResponseGuard(self._reply_analyzer, self._vault, scope, known)
        return ReplyFilter(guard, Restorer(self._vault, scope, surrogates), self._hold)

    def _whole(
        self,
        endpoint: Endpoint,
        body: dict[str, Any],
        upstream: httpx.Response,
        reply: ReplyFilter,
        receipt: dict[str, str],
        exchange: Exchange,
    ) -> Response:
        headers = {**_passed_headers(upstream), **receipt}
        exchange.status = upstream.status_code
        stored = self._recorder.stored_mode(exchange)
        try:
            document = load_reply_json(upstream.text)
        except ValueError:
            self._metrics.upstream_errors.labels("invalid_json").inc()
            if upstream.status_code >= 400:
                # Not the provider's error but a page from something in front of it (a load
                # balancer's HTML): the client gets the status, in OpenAI's error shape.
                error = error_body(
                    f"The upstream API answered HTTP {upstream.status_code} with no error Veil could read.",
                    "upstream_error",
                    f"upstream_http_{upstream.status_code}",
                )
                return JSONResponse(error, status_code=upstream.status_code, headers=headers)
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
        if stored == "pseudonymized":
            exchange.response = load_reply_json(upstream.text)
        take_usage(exchange, document)
        if upstream.status_code >= 400:
            self._metrics.upstream_errors.labels(f"http_{upstream.status_code}").inc()
            # Error bodies may quote the request back: its tokens are restored too.
            rewrite_document(document, reply)
        elif endpoint.rewrite_reply is not None:
            endpoint.rewrite_reply(document, reply, body)
        if stored == "full":
            exchange.response = document
        exchange.response_entities = reply.redacted
        self._count_reply(reply)
        headers["x-veil-response-redactions"] = _receipt(reply.redacted)
        return JSONResponse(document, status_code=upstream.status_code, headers=headers)

    async def _stream(
        self,
        endpoint: Endpoint,
        open_stream: OpenStream,
        body: dict[str, Any],
        upstream_request: httpx.Request,
        reply: ReplyFilter,
        receipt: dict[str, str],
        started: float,
        exchange: Exchange,
        analyzer: TextAnalyzer,
    ) -> Response:
        upstream = await self._upstream.send(upstream_request, stream=True)
        if upstream.status_code != 200 or "text/event-stream" not in upstream.headers.get("content-type", ""):
            await self._upstream.read(upstream)
            response = self._whole(endpoint, body, upstream, reply, receipt, exchange)
            await self._recorder.commit(exchange)
            self._after_reply(reply, analyzer)
            self._done(endpoint.name, exchange.request_id, response.status_code, started)
            return response
        headers = {**_passed_headers(upstream), **receipt, "cache-control": "no-cache"}
        return self._relay.response(
            upstream,
            open_stream(reply, body),
            reply,
            exchange,
            headers,
            after_reply=functools.partial(self._after_reply, analyzer=analyzer),
            closed=lambda: self._done(endpoint.name, exchange.request_id, 200, started),
        )

    def _exchange(
        self, request_id: str, scope: str, endpoint: Endpoint, body: dict[str, Any], tenancy: Tenancy
    ) -> Exchange:
        model = body.get("model")
        return Exchange(
            request_id=request_id,
            subject=scope,
            endpoint=endpoint.name,
            model=model if isinstance(model, str) else None,
            stream=endpoint.stream is not None and bool(body.get("stream")),
            started_at=time.time(),
            policy_version=tenancy.policy_version,
            storage_mode=tenancy.policy.storage_mode,
        )

    def _after_reply(self, reply: ReplyFilter, analyzer: TextAnalyzer) -> None:
        self._count_reply(reply)
        self._warm(reply, analyzer)

    def _warm(self, reply: ReplyFilter, analyzer: TextAnalyzer) -> None:
        """Analyse the reply the client got, after it got it: the app re-sends it as history
        next turn, and then it is a cache hit instead of a model pass on the request's path."""
        texts = [text for text in reply.texts() if text]
        if not self._warm_cache or not texts:
            return
        task = asyncio.get_running_loop().create_task(self._prefetch(texts, analyzer))
        self._warming.add(task)
        task.add_done_callback(self._warming.discard)

    async def _prefetch(self, texts: list[str], analyzer: TextAnalyzer) -> None:
        try:
            await anyio.to_thread.run_sync(self._pseudonymizer.prefetch, texts, analyzer)
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


def _model_path(model: str) -> str:
    """A model id as the path under `/models`: each segment percent-encoded (ids like
    `org/model` keep their slashes). An empty or dot segment is refused: the URL would climb
    out of the upstream's base path to any of its endpoints, with the organization's key."""
    segments = model.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidRequest("The model id in the path is not valid.", param="model")
    return "/".join(quote(segment, safe=":@") for segment in segments)


@contextlib.contextmanager
def _store_unavailable() -> Iterator[None]:
    """Reads of the store before anything is forwarded (virtual keys, consent): when the
    database cannot answer, the request fails closed. The vault and the recorder map their
    own failures."""
    try:
        yield
    except StoreError as error:
        log.error("store unavailable: %s", error)  # names the database, never a value
        raise StorageUnavailable("Veil's database is unavailable; nothing was forwarded.") from None


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
