"""create_app(settings): the one place Veil's objects are built and wired together."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
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
from veil.policy import consent_defaults, policy_version
from veil.proxy import Gateway
from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.pseudonymizer import Pseudonymizer
from veil.pseudonymize.vault import Vault
from veil.scope import ScopeResolver
from veil.store.audit import AuditLog
from veil.store.consent import ConsentLedger
from veil.store.database import Database
from veil.store.keys import KeyProvider, key_provider
from veil.store.records import RecordStore
from veil.store.retention import Retention, purge
from veil.store.subject_keys import AUDIT_SECRET, SCOPE_SECRET, SubjectKeys
from veil.store.subjects import SubjectData
from veil.store.vault import DatabaseVault
from veil.upstream import Upstream
from veil.web.activity import Activity
from veil.web.admin_api import AdminApi
from veil.web.admin_key import ADMIN_SESSION_SECRET, AdminKey
from veil.web.dashboard import ADMIN_COOKIE, Dashboard
from veil.web.notice import PrivacyNotice, entity_types, notice_document
from veil.web.pages import Pages
from veil.web.portal import PORTAL_COOKIE, Portal
from veil.web.portal_tokens import PORTAL_TOKEN_SECRET, PortalTokens
from veil.web.sessions import SessionCookie

log = logging.getLogger("veil.app")


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


def build_vault(settings: Settings, db: Database, keys: SubjectKeys) -> Vault:
    ttl = settings.retention_vault_days * 86_400
    if settings.vault == "memory":
        return MemoryVault(ttl_seconds=ttl)
    return DatabaseVault(db, keys, ttl_seconds=ttl)


def open_database(settings: Settings) -> Database:
    """The store, migrated to this version's schema (every CLI command opens it this way)."""
    db = Database(settings.database, durable=settings.durable_commits)
    try:
        db.migrate()
    except BaseException:
        db.dispose()
        raise
    return db


def build_key_provider(settings: Settings) -> KeyProvider:
    secret = settings.master_key.get_secret_value() if settings.master_key else None
    retired = settings.retired_master_keys.get_secret_value() if settings.retired_master_keys else None
    return key_provider(secret, retired, settings.key_file)


@dataclasses.dataclass(frozen=True)
class Store:
    """The privacy store's objects, as `veil serve` and every CLI command use them."""

    db: Database
    keys: SubjectKeys
    vault: Vault
    audit: AuditLog
    records: RecordStore
    consents: ConsentLedger
    scopes: ScopeResolver
    subjects: SubjectData


def build_store(settings: Settings) -> Store:
    db = open_database(settings)
    keys = SubjectKeys(db, build_key_provider(settings))
    vault = build_vault(settings, db, keys)
    audit = AuditLog(db, keys.installation_secret(AUDIT_SECRET))
    records = RecordStore(db, keys, audit, settings.storage_mode)
    consents = ConsentLedger(db, audit, consent_defaults(settings))
    scopes = ScopeResolver(
        keys.installation_secret(SCOPE_SECRET), settings.subject_header, settings.subject_sources
    )
    forget = functools.partial(_forget, vault, keys)
    subjects = SubjectData(db, keys, records, consents, audit, forget=forget)
    return Store(db, keys, vault, audit, records, consents, scopes, subjects)


def retention(settings: Settings) -> Retention:
    return Retention(
        transcripts_days=settings.retention_transcripts_days,
        metadata_days=settings.retention_metadata_days,
        vault_days=settings.retention_vault_days,
    )


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
    db = open_database(settings)
    keys = SubjectKeys(db, build_key_provider(settings))
    analyzer = build_analyzer(settings)
    reply_analyzer = build_reply_analyzer(settings)
    cached_analyzer = CachingAnalyzer(analyzer)
    vault = build_vault(settings, db, keys)
    audit = AuditLog(db, keys.installation_secret(AUDIT_SECRET))
    records = RecordStore(db, keys, audit, settings.storage_mode)
    consents = ConsentLedger(db, audit, consent_defaults(settings))
    scopes = ScopeResolver(
        keys.installation_secret(SCOPE_SECRET), settings.subject_header, settings.subject_sources
    )
    subjects = SubjectData(db, keys, records, consents, audit, forget=functools.partial(_forget, vault, keys))
    client = http_client or build_http_client(settings)
    upstream_key = settings.upstream_api_key.get_secret_value() if settings.upstream_api_key else None
    upstream = Upstream(client, settings.upstream_base_url, upstream_key)
    metrics = Metrics()
    gateway = Gateway(
        reply_analyzer=reply_analyzer,
        pseudonymizer=Pseudonymizer(cached_analyzer, vault),
        vault=vault,
        scopes=scopes,
        upstream=upstream,
        records=records,
        consents=consents,
        policy_version=policy_version(settings),
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        # A model costs milliseconds per KB: then every request is analysed off the loop.
        # Off the event loop whenever it may wait: on a model (milliseconds per KB) or on the
        # database vault (another transaction can hold the subject's row). Only the memory
        # vault with rules alone runs small bodies inline.
        inline_detection_chars=8192 if settings.vault == "memory" and not settings.ner_model else 0,
        warm_cache=bool(settings.ner_model),
        scan_responses=settings.scan_responses,
        stream_hold_max_chars=settings.stream_hold_max_chars,
    )
    admin_key = AdminKey(settings.admin_key)
    portal_secret = keys.installation_secret(PORTAL_TOKEN_SECRET)
    portal_tokens = PortalTokens(portal_secret, default_ttl_seconds=settings.portal_token_ttl_seconds)
    pages = Pages()
    activity = Activity(db)
    admin_api = AdminApi(
        key=admin_key, scopes=scopes, subjects=subjects, consents=consents, audit=audit, tokens=portal_tokens
    )
    notice = PrivacyNotice(
        notice_document(
            settings,
            policy_version=policy_version(settings),
            request_types=entity_types(analyzer.detectors),
            reply_types=entity_types(reply_analyzer.detectors),
        ),
        pages,
    )
    portal = Portal(
        tokens=portal_tokens,
        cookie=SessionCookie(PORTAL_COOKIE, "/portal", portal_secret),
        subjects=subjects,
        consents=consents,
        activity=activity,
        pages=pages,
    )
    admin_session_key = admin_key.session_key(keys.installation_secret(ADMIN_SESSION_SECRET))
    dashboard = Dashboard(
        key=admin_key,
        cookie=SessionCookie(ADMIN_COOKIE, "/admin", admin_session_key),
        activity=activity,
        audit=audit,
        pages=pages,
    )
    web_routes = [
        *admin_api.routes(),
        *notice.routes(),
        *portal.routes(),
        *dashboard.routes(),
        *pages.routes(),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        purger = asyncio.create_task(
            _purge_periodically(
                db, vault, audit, retention(settings), metrics, settings.purge_interval_seconds
            )
        )
        try:
            yield
        finally:
            purger.cancel()
            await upstream.aclose()
            db.dispose()

    app = Starlette(
        routes=[*gateway.routes(), *web_routes],
        lifespan=lifespan,
        middleware=[Middleware(ContainUnexpectedErrors)],
        exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
    )
    app.state.metrics = metrics
    app.state.vault = vault
    app.state.database = db
    app.state.records = records
    app.state.audit = audit
    app.state.consents = consents
    app.state.scopes = scopes
    app.state.subjects = subjects
    app.state.portal_tokens = portal_tokens
    app.state.analysis_cache = cached_analyzer
    app.state.gateway = gateway
    return app


async def _http_error(request: Request, exc: HTTPException) -> Response:
    error_type = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return JSONResponse(
        error_body(exc.detail or "Error", error_type, f"http_{exc.status_code}"), status_code=exc.status_code
    )


def _forget(vault: Vault, keys: SubjectKeys, subject: str) -> None:
    """Drop an erased subject from this process's memory."""
    forget = getattr(vault, "forget", None)
    if forget is not None:
        forget(subject)
    keys.forget(subject)


async def _purge_periodically(
    db: Database, vault: Vault, audit: AuditLog, policy: Retention, metrics: Metrics, interval: float
) -> None:
    """Retention without anyone remembering it: what has outlived it goes, every `interval`."""
    while True:
        try:
            report = await anyio.to_thread.run_sync(functools.partial(purge, db, policy))
            if isinstance(vault, MemoryVault):
                report = dataclasses.replace(report, vault=report.vault + vault.purge_expired())
            counts = {
                category: getattr(report, category) for category in ("transcripts", "metadata", "vault")
            }
            for category, count in counts.items():
                metrics.purged.labels(category).inc(count)
            if report.total:
                await anyio.to_thread.run_sync(
                    audit.record, "purge", None, {"by": "schedule", "removed": counts}
                )
            log.info(
                "purge removed transcripts=%d metadata=%d vault=%d",
                report.transcripts,
                report.metadata,
                report.vault,
            )
        except Exception as exc:
            log.error("purge failed: %s", type(exc).__name__)
        await asyncio.sleep(interval)
