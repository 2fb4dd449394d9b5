"""Veil's one error family, and the OpenAI-shaped body each becomes at the edge.

    VeilError
    ├── InvalidRequest          400  the client sent something we cannot read
    ├── PayloadTooLarge         413  body over `max_body_bytes`
    ├── AdminDisabled           401  the admin API has no key (VEIL_ADMIN_KEY unset)
    ├── AdminKeyRejected        401  no admin key, or not the right one
    ├── ConsentWithdrawn        403  the subject withdrew `send_to_provider`: nothing was forwarded
    ├── DetectionFailed         500  a privacy check could not run: nothing was forwarded
    ├── VaultUnavailable        503  tokens could not be minted or read: nothing was forwarded
    ├── StorageUnavailable      503  the record could not be committed: the reply is withheld
    ├── UpstreamUnavailable     502  the provider could not be reached
    ├── UpstreamTruncated       502  the provider's stream ended before its end event
    └── UpstreamTimeout         504  the provider did not answer in time

Messages are written for the client and never contain a value from the request.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("veil.errors")


class VeilError(Exception):
    status_code: ClassVar[int] = 500
    error_type: ClassVar[str] = "server_error"
    code: ClassVar[str] = "veil_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.error_type, self.code, self.param)


class InvalidRequest(VeilError):
    status_code = 400
    error_type = "invalid_request_error"
    code = "invalid_request"


class Blocked(VeilError):
    """The policy blocks a type of personal data the request holds. Names types, never values."""

    status_code = 400
    error_type = "invalid_request_error"
    code = "blocked_by_policy"

    def __init__(self, entity_types: list[str]) -> None:
        self.entity_types = entity_types
        super().__init__(
            "This request contains personal data that the privacy policy does not allow to be sent: "
            + ", ".join(entity_types)
            + ". Nothing was forwarded."
        )


class Unauthorized(VeilError):
    status_code = 401
    error_type = "invalid_request_error"
    code = "invalid_api_key"


class UpstreamKeyMissing(VeilError):
    status_code = 503
    code = "upstream_key_missing"


class PayloadTooLarge(VeilError):
    status_code = 413
    error_type = "invalid_request_error"
    code = "payload_too_large"


class AdminDisabled(VeilError):
    status_code = 401
    error_type = "authentication_error"
    code = "admin_disabled"


class AdminKeyRejected(VeilError):
    status_code = 401
    error_type = "authentication_error"
    code = "invalid_admin_key"


class DetectionFailed(VeilError):
    status_code = 500
    code = "detection_failed"


class VaultUnavailable(VeilError):
    status_code = 503
    code = "vault_unavailable"


class ConsentWithdrawn(VeilError):
    status_code = 403
    error_type = "permission_error"
    code = "consent_withdrawn"


class StorageUnavailable(VeilError):
    status_code = 503
    code = "storage_unavailable"


class UpstreamUnavailable(VeilError):
    status_code = 502
    error_type = "upstream_error"
    code = "upstream_unavailable"


class UpstreamTruncated(VeilError):
    """A streamed reply whose upstream stream closed cleanly but early: without chat's
    `[DONE]` (or a finish reason for every choice, and the usage chunk when the request asked
    for one), or the Responses API's terminal event. The client must not take what it got
    for a whole reply."""

    status_code = 502
    error_type = "upstream_error"
    code = "upstream_truncated"

    def __init__(self) -> None:
        super().__init__("The upstream stream ended early; Veil withheld any unfinished text.")


class UpstreamTimeout(VeilError):
    status_code = 504
    error_type = "upstream_error"
    code = "upstream_timeout"


def error_body(message: str, error_type: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": code}}


class ContainUnexpectedErrors:
    """ASGI middleware: an exception no handler expected becomes a generic 500 in OpenAI's
    shape. Only its type is logged and it goes no further: its message could quote request
    data, and the server's own logger would print it with a traceback. `headers` go on that
    500 (the web side's security headers: the request may have been for a page)."""

    def __init__(self, app: ASGIApp, headers: Mapping[str, str] | None = None) -> None:
        self.app = app
        self._headers = dict(headers or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            # The route's template, not the path: a path can name a person (/admin/subjects/{user}/…).
            route = getattr(scope.get("route"), "path", "an unknown route")
            log.error("unhandled %s on %s %s", type(exc).__name__, scope.get("method", ""), route)
            if not started:
                body = error_body("Internal error in Veil.", "server_error", "internal_error")
                await JSONResponse(body, status_code=500, headers=self._headers)(scope, receive, send)
