"""create_app(settings): the one place Veil's objects are built and wired together."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from veil.config import Settings
from veil.detect.analyzer import Analyzer
from veil.detect.base import Detector, TextAnalyzer
from veil.detect.cache import CachingAnalyzer
from veil.detect.custom import PatternDetector, TermsDetector
from veil.detect.ner import NerDetector, load_pipeline
from veil.detect.registry import default_detectors, prose_detectors
from veil.errors import ContainUnexpectedErrors, error_body
from veil.metrics import Metrics
from veil.openai_api.endpoints import default_endpoints
from veil.openapi import openapi_route
from veil.policy import consent_defaults
from veil.policy.configured import settings_policy
from veil.policy.document import TenantPolicy
from veil.policy.holder import PolicyHolder
from veil.proxy import Gateway
from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.pseudonymizer import Pseudonymizer
from veil.pseudonymize.surrogates import Surrogates
from veil.pseudonymize.vault import Vault
from veil.scope import ScopeResolver
from veil.store.audit import AuditLog
from veil.store.consent import ConsentLedger
from veil.store.database import Database
from veil.store.keys import KeyProvider, key_provider
from veil.store.records import RecordStore
from veil.store.retention import Retention, purge
from veil.store.subject_keys import AUDIT_SECRET, HASH_SECRET, SCOPE_SECRET, SURROGATE_SECRET, SubjectKeys
from veil.store.subjects import SubjectData
from veil.store.vault import DatabaseVault
from veil.store.virtual_keys import VirtualKeys
from veil.tenancy import Tenancies
from veil.upstream import Upstream
from veil.web.activity import Activity
from veil.web.admin_api import AdminApi
from veil.web.admin_key import ADMIN_SESSION_SECRET, AdminKey
from veil.web.dashboard import ADMIN_COOKIE, Dashboard
from veil.web.notice import PrivacyNotice, entity_types, notice_document
from veil.web.pages import Pages
from veil.web.portal import PORTAL_COOKIE, Portal
from veil.web.portal_tokens import PORTAL_TOKEN_SECRET, PortalTokens
from veil.web.security_headers import HEADERS as SECURITY_HEADERS
from veil.web.sessions import SessionCookie

log = logging.getLogger("veil.app")


def build_analyzer(settings: Settings) -> Analyzer:
    """The request side's analyzer: rule detectors, addresses and names, then the NER model
    when configured."""
    detectors = [*default_detectors(phone_region=settings.phone_region), *prose_detectors()]
    if settings.ner_model:
        detectors.append(ner_detector(settings.ner_model, settings.ner_max_chars))
    return Analyzer(detectors, allow=settings.allow_list)


def build_reply_analyzer(settings: Settings) -> Analyzer:
    """The reply side's analyzer: rule detectors only. A model naming a city or a public
    figure is not leaking the caller's data, and NER per streamed delta would cost
    milliseconds each."""
    return Analyzer(default_detectors(phone_region=settings.phone_region), allow=settings.allow_list)


@functools.cache
def ner_detector(model: str, max_chars: int) -> NerDetector:
    """One loaded pipeline per model and process (~150 MB, ~1 s to load), with its lock.
    (A process that builds two limits, as the tests do, loads two: detectors must not share one.)"""
    return NerDetector(load_pipeline(model), max_chars=max_chars)


def build_vault(settings: Settings, db: Database, keys: SubjectKeys) -> Vault:
    ttl = settings.retention_vault_days * 86_400
    if settings.vault == "memory":
        return MemoryVault(ttl_seconds=ttl)
    return DatabaseVault(db, keys, ttl_seconds=ttl)


def open_database(settings: Settings) -> Database:
    """The store, migrated to this version's schema (every CLI command opens it this way)."""
    db = Database(
        settings.database,
        durable=settings.durable_commits,
        busy_timeout_ms=round(settings.database_lock_timeout_seconds * 1000),
        statement_timeout_ms=round(settings.database_statement_timeout_seconds * 1000),
    )
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
    store = build_store(settings)
    policies = build_policies(settings)
    analyzer = build_analyzer(settings)
    reply_analyzer = build_reply_analyzer(settings)
    cached_analyzer = CachingAnalyzer(analyzer)
    client = http_client or build_http_client(settings)
    upstream_key = settings.upstream_api_key.get_secret_value() if settings.upstream_api_key else None
    metrics = Metrics()
    upstream = Upstream(client, settings.upstream_base_url, upstream_key, metrics)
    tenancies = Tenancies(
        VirtualKeys(store.db),
        policies,
        functools.partial(tenant_analyzer, analyzer, cached_analyzer),
        upstream_key=upstream_key,
        require_keys=settings.require_keys,
        environ=os.environ,
    )
    pseudonymizer = Pseudonymizer(
        cached_analyzer,
        store.vault,
        surrogates=Surrogates(store.keys.installation_secret(SURROGATE_SECRET)),
        hash_secret=store.keys.installation_secret(HASH_SECRET),
    )
    gateway = Gateway(
        reply_analyzer=reply_analyzer,
        pseudonymizer=pseudonymizer,
        vault=store.vault,
        scopes=store.scopes,
        tenancies=tenancies,
        upstream=upstream,
        records=store.records,
        consents=store.consents,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
        warm_cache=bool(settings.ner_model),
        stream_hold_max_chars=settings.stream_hold_max_chars,
    )
    notice = functools.partial(
        notice_document,
        settings,
        request_types=entity_types(analyzer.detectors),
        reply_types=entity_types(reply_analyzer.detectors),
    )
    web_routes, portal_tokens = _web(settings, store, lambda: notice(policies.current()))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        purger = asyncio.create_task(
            _purge_periodically(store, policies, metrics, settings.purge_interval_seconds)
        )
        try:
            yield
        finally:
            purger.cancel()
            await upstream.aclose()
            store.db.dispose()

    app = Starlette(
        routes=[*gateway.routes(), *web_routes, openapi_route(default_endpoints())],
        lifespan=lifespan,
        middleware=[Middleware(ContainUnexpectedErrors, headers=SECURITY_HEADERS)],
        exception_handlers={HTTPException: _http_error},  # type: ignore[dict-item]
    )
    app.state.metrics = metrics
    app.state.vault = store.vault
    app.state.database = store.db
    app.state.records = store.records
    app.state.audit = store.audit
    app.state.consents = store.consents
    app.state.scopes = store.scopes
    app.state.subjects = store.subjects
    app.state.policies = policies
    app.state.portal_tokens = portal_tokens
    app.state.analysis_cache = cached_analyzer
    app.state.gateway = gateway
    return app


def build_policies(settings: Settings) -> PolicyHolder:
    """The policy file's, reloaded when it changes; or one made from the settings."""
    if settings.policy_file is not None:
        return PolicyHolder.from_file(settings.policy_file, check_every=settings.policy_check_seconds)
    return PolicyHolder(settings_policy(settings))


def tenant_analyzer(base: Analyzer, shared: TextAnalyzer, policy: TenantPolicy) -> TextAnalyzer:
    """A tenant's analyzer: the shared one, or, when its policy adds detectors or terms, the
    same detectors (one NER model for all) with the policy's added, and a cache of its own."""
    if not policy.detectors and not policy.deny and set(policy.allow) <= set(base.allowed):
        return shared
    extra: list[Detector] = [PatternDetector(d.entity_type, d.pattern, d.score) for d in policy.detectors]
    if policy.deny:
        extra.append(TermsDetector(policy.deny))
    # The policy's own detectors first: on an overlap, the tenant's definition wins.
    return CachingAnalyzer(Analyzer([*extra, *base.detectors], allow=[*base.allowed, *policy.allow]))


def _web(
    settings: Settings, store: Store, notice: Callable[[], dict[str, Any]]
) -> tuple[list[Route], PortalTokens]:
    """The admin API, the notice, the portal and the dashboard."""
    admin_key = AdminKey(settings.admin_key)
    portal_secret = store.keys.installation_secret(PORTAL_TOKEN_SECRET)
    portal_tokens = PortalTokens(portal_secret, default_ttl_seconds=settings.portal_token_ttl_seconds)
    pages = Pages()
    activity = Activity(store.db)
    admin_api = AdminApi(
        key=admin_key,
        scopes=store.scopes,
        subjects=store.subjects,
        consents=store.consents,
        audit=store.audit,
        tokens=portal_tokens,
    )
    portal = Portal(
        tokens=portal_tokens,
        cookie=SessionCookie(PORTAL_COOKIE, "/portal", portal_secret),
        subjects=store.subjects,
        consents=store.consents,
        activity=activity,
        pages=pages,
    )
    admin_session_key = admin_key.session_key(store.keys.installation_secret(ADMIN_SESSION_SECRET))
    dashboard = Dashboard(
        key=admin_key,
        cookie=SessionCookie(ADMIN_COOKIE, "/admin", admin_session_key),
        activity=activity,
        audit=store.audit,
        pages=pages,
    )
    routes = [
        *admin_api.routes(),
        *PrivacyNotice(notice, pages).routes(),
        *portal.routes(),
        *dashboard.routes(),
        *pages.routes(),
    ]
    return routes, portal_tokens


async def _http_error(request: Request, exc: HTTPException) -> Response:
    """404 and 405 from the router, with the web side's security headers: the path asked
    for may have been meant as a page."""
    error_type = "invalid_request_error" if exc.status_code < 500 else "server_error"
    return JSONResponse(
        error_body(exc.detail or "Error", error_type, f"http_{exc.status_code}"),
        status_code=exc.status_code,
        headers={**(exc.headers or {}), **SECURITY_HEADERS},
    )


def _forget(vault: Vault, keys: SubjectKeys, subject: str) -> None:
    """Drop an erased subject from this process's memory."""
    forget = getattr(vault, "forget", None)
    if forget is not None:
        forget(subject)
    keys.forget(subject)


async def _purge_periodically(
    store: Store, policies: PolicyHolder, metrics: Metrics, interval: float
) -> None:
    """Retention without anyone remembering it: what has outlived it goes, every `interval`,
    each tenant's rows by its own policy."""
    while True:
        try:
            policy = policies.current()
            default = _retention(policy.document.default)
            tenants = {name: _retention(tenant) for name, tenant in policy.tenants.items()}
            report = await anyio.to_thread.run_sync(
                functools.partial(purge, store.db, default, tenants=tenants)
            )
            if isinstance(store.vault, MemoryVault):
                report = dataclasses.replace(report, vault=report.vault + store.vault.purge_expired())
            counts = {
                category: getattr(report, category) for category in ("transcripts", "metadata", "vault")
            }
            for category, count in counts.items():
                metrics.purged.labels(category).inc(count)
            if report.total:
                await anyio.to_thread.run_sync(
                    store.audit.record, "purge", None, {"by": "schedule", "removed": counts}
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


def _retention(policy: TenantPolicy) -> Retention:
    return Retention(
        transcripts_days=policy.retention.transcripts_days,
        metadata_days=policy.retention.metadata_days,
        vault_days=policy.retention.vault_days,
    )
