"""The admin API: a person's data and consent, portal tokens, and the audit chain's state.

Every endpoint wants `Authorization: Bearer <VEIL_ADMIN_KEY>`; without a configured key
every one answers 401. `{user}` is the app's own id for its user, the same string it sends
as `user`, `safety_identifier` or the subject header; Veil turns it into the subject
pseudonym at once and keeps only that. Every action is audited: export and erasure by
`SubjectData`, consent changes by the ledger, token issuing here.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from veil.errors import AdminDisabled, AdminKeyRejected, InvalidRequest, StorageUnavailable, VeilError
from veil.openai_api.requests import read_json
from veil.scope import ScopeResolver
from veil.store.audit import AuditLog
from veil.store.consent import PURPOSES, ConsentLedger
from veil.store.database import StoreError
from veil.store.subjects import SubjectData
from veil.web.admin_key import AdminKey
from veil.web.portal_tokens import InvalidTtl, PortalTokens
from veil.web.security_headers import secured

log = logging.getLogger("veil.admin_api")
MAX_BODY_BYTES = 16 * 1024
Handler = Callable[[Request], Awaitable[Response]]

# What a 503 can say truthfully. A write whose commit failed may still have been applied
# (the connection can drop after the database took it), so only reads say nothing changed.
UNCHANGED = "Veil's database is unavailable; nothing was changed."
MAYBE_APPLIED = (
    "Veil's database is unavailable; the change may or may not have been applied."
    " Read it back before trying again."
)
APPLIED_UNREAD = (
    "The consent change was applied, but Veil's database became unavailable before it could"
    " be read back. Read it back later."
)
NO_EXPORT = "Veil's database is unavailable; no export was returned."
NO_TOKEN = "Veil's database is unavailable; no portal token was returned."


class AdminApi:
    def __init__(
        self,
        *,
        key: AdminKey,
        scopes: ScopeResolver,
        subjects: SubjectData,
        consents: ConsentLedger,
        audit: AuditLog,
        tokens: PortalTokens,
    ) -> None:
        self._key = key
        self._scopes = scopes
        self._subjects = subjects
        self._consents = consents
        self._audit = audit
        self._tokens = tokens

    def routes(self) -> list[Route]:
        subject = "/admin/subjects/{user:path}"
        return [
            secured(f"{subject}/export", self._admin(self.export, NO_EXPORT), methods=["GET"]),
            secured(f"{subject}/erase", self._admin(self.erase, MAYBE_APPLIED), methods=["POST"]),
            # A PUT says what its writing and reading back did (see `consent`).
            secured(f"{subject}/consent", self._admin(self.consent, UNCHANGED), methods=["GET", "PUT"]),
            secured("/admin/portal-tokens", self._admin(self.issue_portal_token, NO_TOKEN), methods=["POST"]),
            secured("/admin/audit/verify", self._admin(self.verify_audit, UNCHANGED), methods=["GET"]),
        ]

    async def export(self, request: Request) -> Response:
        subject = self._subject(request)
        document = await anyio.to_thread.run_sync(
            functools.partial(self._subjects.export, subject, by="admin")
        )
        return JSONResponse(document)

    async def erase(self, request: Request) -> Response:
        subject = self._subject(request)
        receipt = await anyio.to_thread.run_sync(functools.partial(self._subjects.erase, subject, by="admin"))
        return JSONResponse(receipt)

    async def consent(self, request: Request) -> Response:
        subject = self._subject(request)
        if request.method == "PUT":
            body = await read_json(request, MAX_BODY_BYTES)
            purpose, granted = body.get("purpose"), body.get("granted")
            if purpose not in PURPOSES:
                raise InvalidRequest(f"'purpose' must be one of: {', '.join(PURPOSES)}.", param="purpose")
            if not isinstance(granted, bool):
                raise InvalidRequest("'granted' must be true or false.", param="granted")
            with _unavailable(MAYBE_APPLIED):
                await anyio.to_thread.run_sync(
                    functools.partial(self._consents.set, subject, purpose, granted, source="admin")
                )
            # Committed: a failure from here on must not read as if nothing changed.
            with _unavailable(APPLIED_UNREAD):
                state, history = await anyio.to_thread.run_sync(self._consent_of, subject)
        else:
            state, history = await anyio.to_thread.run_sync(self._consent_of, subject)
        return JSONResponse({"subject": subject, "consent": state, "history": history})

    async def issue_portal_token(self, request: Request) -> Response:
        body = await read_json(request, MAX_BODY_BYTES)
        user, ttl = body.get("user"), body.get("ttl_seconds")
        if not isinstance(user, str) or not user:
            raise InvalidRequest("'user' must be the app's non-empty id for its user.", param="user")
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int | float)):
            raise InvalidRequest("'ttl_seconds' must be a number.", param="ttl_seconds")
        subject = self._scopes.subject_scope(user)
        try:
            issued = self._tokens.issue(subject, ttl)
        except InvalidTtl as exc:
            raise InvalidRequest(str(exc), param="ttl_seconds") from None
        await anyio.to_thread.run_sync(
            self._audit.record, "portal_token", subject, {"by": "admin", "expires_at": issued.expires_at}
        )
        url = request.url_for("portal").include_query_params(token=issued.token)
        return JSONResponse({"token": issued.token, "url": str(url), "expires_at": issued.expires_at})

    async def verify_audit(self, request: Request) -> Response:
        result = await anyio.to_thread.run_sync(self._audit.verify)
        return JSONResponse(
            {
                "ok": result.ok,
                "entries": result.entries,
                "first_bad_seq": result.first_bad_seq,
                "problem": result.problem or None,
            }
        )

    def _admin(self, handler: Handler, unavailable: str) -> Handler:
        """`handler`, behind the admin key, with Veil's errors in OpenAI's shape; a store
        error becomes a 503 saying `unavailable`, what the handler may have done."""

        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            try:
                if not self._key.enabled:
                    raise AdminDisabled("The admin API is disabled: VEIL_ADMIN_KEY is not set.")
                if not self._key.matches_bearer(request.headers):
                    raise AdminKeyRejected(
                        "Missing or wrong admin key (Authorization: Bearer <VEIL_ADMIN_KEY>)."
                    )
                with _unavailable(unavailable):
                    return await handler(request)
            except VeilError as error:
                headers = (
                    {"www-authenticate": 'Bearer realm="veil-admin"'} if error.status_code == 401 else None
                )
                return JSONResponse(error.body(), status_code=error.status_code, headers=headers)

        return endpoint

    def _subject(self, request: Request) -> str:
        user = request.path_params["user"]
        if not user:
            raise InvalidRequest("The user id in the path is empty.", param="user")
        return self._scopes.subject_scope(user)

    def _consent_of(self, subject: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        return self._consents.state(subject).as_dict(), self._consents.history(subject)


@contextlib.contextmanager
def _unavailable(message: str) -> Iterator[None]:
    """A store error inside becomes a 503 saying `message`."""
    try:
        yield
    except StoreError as error:
        log.error("admin API: store unavailable: %s", error)
        raise StorageUnavailable(message) from None
