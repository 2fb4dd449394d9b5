"""The privacy notice: what Veil collects, why, for how long, where it goes and what it
hides, written from the configuration in force (so it cannot drift from what Veil does).

`GET /privacy/notice` answers HTML, or JSON for `Accept: application/json` or
`?format=json`; both come from the one document `notice_document` builds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from veil.config import Settings
from veil.detect.base import Detector
from veil.detect.ner import DEFAULT_LABELS
from veil.policy import consent_defaults
from veil.policy.loading import Policy
from veil.store.consent import DESCRIPTIONS, PURPOSES
from veil.web.pages import Pages
from veil.web.security_headers import secured

# Detectors that find more than one type and do not say so in an `entity_type` attribute.
_MULTI_TYPE_DETECTORS = {
    "aws_key": ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    "ner": tuple(label.entity_type for label in DEFAULT_LABELS.values()),
}

_TRANSCRIPT_WHAT = {
    "pseudonymized": "Your conversations as the AI provider saw them: your personal data replaced by tokens.",
    "full": "Your conversations as you sent and received them, with your personal data in them.",
}


def entity_types(detectors: Iterable[Detector]) -> list[str]:
    """The types of personal data `detectors` find, sorted."""
    found: set[str] = set()
    for detector in detectors:
        single = getattr(detector, "entity_type", None)
        if isinstance(single, str):
            found.add(single)
        else:
            found.update(_MULTI_TYPE_DETECTORS.get(detector.name, ()))
    return sorted(found)


def notice_document(
    settings: Settings, policy: Policy, *, request_types: Iterable[str], reply_types: Iterable[str]
) -> dict[str, Any]:
    """The notice as data, for the policy in force (its default section; tenants with a
    section of their own are named). `request_types` are the types found in requests,
    `reply_types` those redacted from replies when the caller never sent them."""
    default = policy.document.default
    retention = default.retention
    upstream = urlsplit(settings.upstream_base_url)
    provider_host = upstream.hostname or ""
    if upstream.port is not None:
        provider_host += f":{upstream.port}"
    keeps_records = default.storage_mode != "none"
    keeps_transcripts = default.storage_mode in _TRANSCRIPT_WHAT
    defaults = consent_defaults(settings)
    sources = {
        "user": "the request's user field",
        "safety_identifier": "the request's safety_identifier field",
        "header": f"the {settings.subject_header} header",
    }
    return {
        "policy_version": policy.version,
        "storage_mode": default.storage_mode,
        "tenants_with_own_policy": sorted(policy.tenants),
        "who_you_are": {
            "identified_by": [sources[source] for source in settings.subject_sources],
            "stored_as": "a keyed hash of the app's id for you (a pseudonym); the id itself is never stored",
            "provider_sees": "another keyed hash of that id, never the id",
        },
        "collected": [
            {
                "category": "vault_mappings",
                "kept": True,
                "where": "in this server's memory only" if settings.vault == "memory" else "in the database",
                "what": "Each piece of personal data found in your requests and the token that replaced"
                " it, encrypted with a key of your own.",
                "why": "To put your own data back into the AI's reply.",
                "retention_days": retention.vault_days,
                "retention": f"{retention.vault_days:g} days after its last use",
            },
            {
                "category": "request_metadata",
                "kept": keeps_records,
                "where": "in the database",
                "what": "Per request: time, model, status, token counts, the types and counts of personal"
                " data found, the consent state and policy version. Never the data itself.",
                "why": "Operating the service, usage accounting and statistics.",
                "retention_days": retention.metadata_days,
                "retention": f"{retention.metadata_days:g} days",
            },
            {
                "category": "transcripts",
                "kept": keeps_transcripts,
                "where": "in the database, encrypted with a key of your own",
                "what": _TRANSCRIPT_WHAT.get(default.storage_mode, "Not kept."),
                "why": "A record of conversations, only while you consent to store_transcripts.",
                "retention_days": retention.transcripts_days,
                "retention": f"{retention.transcripts_days:g} days",
            },
            {
                "category": "consent_records",
                "kept": True,
                "where": "in the database",
                "what": "Your consent choices, with time and where you made them.",
                "why": "To honour your choices and to show that we did.",
                "retention_days": None,
                "retention": "until your data is erased",
            },
            {
                "category": "audit_log",
                "kept": True,
                "where": "in the database, hash-chained so no entry can be changed unnoticed",
                "what": "One entry per request and per administrative action: your pseudonym, the types"
                " and counts of personal data found and what was done with them, the consent state and"
                " policy version. Never the data itself.",
                "why": "Accountability: proof of what happened to your data.",
                "retention_days": None,
                "retention": "for the life of the installation (it holds no personal data to erase)",
            },
        ],
        "recipients": [
            {
                "role": "AI provider",
                "host": provider_host,
                "receives": "Your requests with personal data replaced by tokens, and a keyed hash in"
                " place of your id.",
            }
        ],
        "redacted": {
            "in_requests": sorted(request_types),
            "actions": {kind: default.action_for(kind) for kind in sorted(request_types)},
            "in_replies": sorted(reply_types) if default.response_scanning == "redact" else [],
            "allow_listed_terms": len(default.allow),
            "deny_listed_terms": len(default.deny),
        },
        "consent": [
            {"purpose": purpose, "description": DESCRIPTIONS[purpose], "default": defaults[purpose]}
            for purpose in PURPOSES
        ],
        "rights": {
            "access": "A copy of everything held about you, as one JSON document.",
            "erasure": "Your data key is destroyed and your records deleted; you get a receipt.",
            "consent": "Grant or withdraw each purpose at any time; it counts from your next request.",
            "how": "Through the privacy portal link your app gives you, or by asking the app's operator.",
        },
    }


class PrivacyNotice:
    """`document` makes the notice for the policy in force at the time it is asked."""

    def __init__(self, document: Callable[[], dict[str, Any]], pages: Pages) -> None:
        self._document = document
        self._pages = pages

    def routes(self) -> list[Route]:
        return [secured("/privacy/notice", self.notice, methods=["GET"], name="privacy_notice")]

    async def notice(self, request: Request) -> Response:
        document = self._document()
        headers = {"x-veil-policy-version": document["policy_version"], "vary": "accept"}
        if _wants_json(request):
            return JSONResponse(document, headers=headers)
        response = self._pages.render("notice.html", notice=document)
        response.headers.update(headers)
        return response


def _wants_json(request: Request) -> bool:
    chosen = request.query_params.get("format")
    if chosen is not None:
        return chosen == "json"
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept
