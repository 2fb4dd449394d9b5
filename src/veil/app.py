"""create_app(settings): the one place Veil's objects are built and wired together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from http.cookiejar import CookieJar, DefaultCookiePolicy

import anyio
import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from veil.config import Settings
from veil.detect.analyzer import Analyzer
from veil.detect.cache import CachingAnalyzer
from veil.detect.ner import NerDetector, load_pipeline
from veil.detect.registry import default_detectors, prose_detectors
from veil.errors import ContainUnexpectedErrors, error_body
from veil.metrics import Metrics
from veil.proxy import Gateway
from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.pseudonymizer import Pseudonymizer
from veil.pseudonymize.vault import Vault
from veil.scope import ScopeResolver
from veil.store.cipher import Cipher
from veil.store.master_key import load_master_key
from veil.store.sqlite_vault import SQLiteVault
from veil.upstream import Upstream

log = logging.getLogger("veil.app")
PURGE_INTERVAL_SECONDS = 3600.0


def build_analyzer(settings: Settings) -> Analyzer:
    """The request side's analyzer: rule detectors, addresses and names, then the NER model
    when configured."""
    detectors = [*default_detectors(phone_region=settings.phone_region), *prose_detectors()]
    if settings.ner_model:
        detectors.append(ner_detector(settings.ner_model))
    return Analyzer(detectors, allow=settings.allow_list)


def build_reply_analyzer(settings: Settings) -> Analyzer:
    """The reply side's analyzer: rule detectors only. A model naming a city or a public
    figure is not leaking the caller's data, and NER per streamed delta would cost
    milliseconds each."""
    return Analyzer(default_detectors(phone_region=settings.phone_region), allow=settings.allow_list)


@functools.cache
def ner_detector(model: str) -> NerDetector:
    """One loaded pipeline per model and process (~150 MB, ~1 s to load), with its lock."""
    return NerDetector(load_pipeline(model))


def build_vault(settings: Settings, cipher: Cipher) -> Vault:
    if settings.vault == "memory":
        return MemoryVault(ttl_seconds=settings.vault_ttl_seconds)
    return SQLiteVault(settings.vault_file, cipher, ttl_seconds=settings.vault_ttl_seconds)


def build_http_client(settings: Settings) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.upstream_read_timeout, connect=settings.upstream_connect_timeout),
        limits=httpx.Limits(
            max_connections=settings.upstream_max_connections,
            max_keepalive_connections=settings.upstream_max_connections // 2,
        ),
        follow_redirects=False,
        # One client serves every tenant: a cookie set for one must never ride on another's request.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )


def create_app(settings: Settings, *, http_client: httpx.AsyncClient | None = None) -> Starlette:
    """The ASGI app. `http_client` replaces the upstream client (tests pass a MockTransport)."""
    master_key = load_master_key(
        settings.master_key.get_secret_value() if settings.master_key else None, settings.key_file
    )
    cipher = Cipher(master_key)
    analyzer = build_analyzer(settings)
    reply_analyzer = build_reply_analyzer(settings)
    cached_analyzer = CachingAnalyzer(analyzer)
    vault = build_vault(settings, cipher)
    client = http_client or build_http_client(settings)
    upstream_key = settings.upstream_api_key.get_secret_value() if settings.upstream_api_key else None
    upstream = Upstream(client, settings.upstream_base_url, upstream_key)
    metrics = Metrics()
    gateway = Gateway(
        reply_analyzer=reply_analyzer,
        pseudonymizer=Pseudonymizer(cached_analyzer, vault),
        vault=vault,
        scopes=ScopeResolver(cipher.index("veil/scope-key", ""), settings.subject_header),
        upstream=upstream,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        # A model costs milliseconds per KB: then every request is analysed off the loop.
        inline_detection_chars=0 if settings.ner_model else 8192,
        warm_cache=bool(settings.ner_model),
        scan_responses=settings.scan_responses,
        stream_hold_max_chars=settings.stream_hold_max_chars,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        purger = asyncio.create_task(_purge_periodically(vault))
        try:
            yield
        finally:
            purger.cancel()
            await upstream.aclose()
            close = getattr(vault, "close", None)
            if close is not None:
                close()

    app = Starlette(
        routes=gateway.routes(),
        lifespan=lifespan,
        middleware=[Middleware(ContainUnexpectedErrors)],
        exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
    )
    app.state.metrics = metrics
    app.state.vault = vault
    app.state.analysis_cache = cached_analyzer
    app.state.gateway = gateway
    return app


async def _http_error(request: Request, exc: HTTPException) -> Response:
    error_type = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return JSONResponse(
        error_body(exc.detail or "Error", error_type, f"http_{exc.status_code}"), status_code=exc.status_code
    )


async def _purge_periodically(vault: Vault) -> None:
    """Expired mappings are unreadable at once; this reclaims their rows."""
    purge = getattr(vault, "purge_expired", None)
    if purge is None:
        return
    while True:
        try:
            removed = await anyio.to_thread.run_sync(purge)
            log.info("vault purge removed %d expired mappings", removed)
        except Exception:
            log.exception("vault purge failed")
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)
