"""The privacy portal: a person sees what is held about them, downloads it, deletes it, and
grants or withdraws consent.

They arrive with a portal token from their app (`/portal?token=...`). The token becomes a
session cookie that ends when the token would have, and a page of ours sends the browser
on to `/portal`, so the token leaves the address bar. Every form carries the session's CSRF
token. The portal is the one place a person's own values are shown: to them, in their
export.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from veil.store.consent import DESCRIPTIONS, PURPOSES, ConsentLedger
from veil.store.subjects import SubjectData
from veil.web.activity import Activity
from veil.web.forms import read_form
from veil.web.pages import Pages
from veil.web.portal_tokens import PortalTokens
from veil.web.sessions import Session, SessionCookie

PORTAL_COOKIE = "veil_portal"


class Portal:
    def __init__(
        self,
        *,
        tokens: PortalTokens,
        cookie: SessionCookie,
        subjects: SubjectData,
        consents: ConsentLedger,
        activity: Activity,
        pages: Pages,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._cookie = cookie
        self._subjects = subjects
        self._consents = consents
        self._activity = activity
        self._pages = pages
        self._clock = clock

    def routes(self) -> list[Route]:
        return [
            self._pages.route("/portal", self.home, methods=["GET"], name="portal"),
            self._pages.route("/portal/export", self.export, methods=["GET"]),
            self._pages.route("/portal/consent", self.consent, methods=["POST"]),
            self._pages.route("/portal/delete", self.delete, methods=["GET", "POST"]),
        ]

    async def home(self, request: Request) -> Response:
        token = request.query_params.get("token")
        if token is not None:
            return self._enter(request, token)
        session = self._cookie.read(request)
        if session is None or session.subject is None:
            return self._signed_out()
        held, consent = await anyio.to_thread.run_sync(self._overview, session.subject)
        return self._pages.render(
            "portal.html", held=held, consent=consent, csrf=session.csrf, expires_at=session.expires_at
        )

    async def export(self, request: Request) -> Response:
        session = self._cookie.read(request)
        if session is None or session.subject is None:
            return self._signed_out()
        document = await anyio.to_thread.run_sync(
            functools.partial(self._subjects.export, session.subject, by="portal")
        )
        return Response(
            json.dumps(document, indent=2, ensure_ascii=False),
            media_type="application/json",
            headers={"content-disposition": 'attachment; filename="my-data.json"'},
        )

    async def consent(self, request: Request) -> Response:
        session, form = await self._posted(request)
        if session is None or form is None or session.subject is None:
            return self._refused(session)
        purpose, granted = form.get("purpose"), form.get("granted")
        if purpose not in PURPOSES or granted not in ("yes", "no"):
            return self._pages.render(
                "message.html",
                status_code=400,
                title="Not a choice we know",
                message="Go back to your privacy page and use its switches.",
            )
        await anyio.to_thread.run_sync(
            functools.partial(self._consents.set, session.subject, purpose, granted == "yes", source="portal")
        )
        return RedirectResponse("/portal", status_code=303)

    async def delete(self, request: Request) -> Response:
        if request.method == "GET":
            session = self._cookie.read(request)
            if session is None or session.subject is None:
                return self._signed_out()
            return self._pages.render("portal_delete.html", csrf=session.csrf)
        session, form = await self._posted(request)
        if session is None or form is None or session.subject is None:
            return self._refused(session)
        if form.get("confirm") != "yes":
            return self._pages.render(
                "portal_delete.html", status_code=400, csrf=session.csrf, unconfirmed=True
            )
        receipt = await anyio.to_thread.run_sync(
            functools.partial(self._subjects.erase, session.subject, by="portal")
        )
        response = self._pages.render("portal_erased.html", receipt=receipt)
        # Nothing is left to show; the session goes with the data.
        self._cookie.end(response)
        return response

    def _enter(self, request: Request, token: str) -> Response:
        grant = self._tokens.verify(token)
        if grant is None:
            return self._pages.render(
                "message.html",
                status_code=401,
                title="This link cannot be used",
                message="It has expired or is not valid. Ask your app for a new link to your privacy page.",
            )
        # Not a 303: a browser that followed the app's link (from another site) counts the
        # redirect as part of that cross-site navigation and withholds the SameSite=Strict
        # cookie from it. A page of ours that moves on is a same-site navigation.
        response = self._pages.render("portal_enter.html")
        self._cookie.start(
            request, response, subject=grant.subject, ttl_seconds=grant.expires_at - self._clock()
        )
        return response

    async def _posted(self, request: Request) -> tuple[Session | None, dict[str, str] | None]:
        """The session and the form, when the form is this session's own; else a None."""
        session = self._cookie.read(request)
        form = await read_form(request)
        if session is None or form is None or not session.accepts(form.get("csrf")):
            return session, None
        return session, form

    def _overview(self, subject: str) -> tuple[dict[str, int], list[dict[str, Any]]]:
        state = self._consents.state(subject)
        consent = [
            {
                "purpose": purpose,
                "description": DESCRIPTIONS[purpose],
                "granted": state.allows(purpose),
                "chosen": purpose in state.chosen,
            }
            for purpose in PURPOSES
        ]
        return self._activity.held_for(subject), consent

    def _signed_out(self) -> Response:
        return self._pages.render(
            "message.html",
            status_code=401,
            title="Your privacy page has closed",
            message="Its link was valid for a short time only. Ask your app for a new one.",
        )

    def _refused(self, session: Session | None) -> Response:
        if session is None:
            return self._signed_out()
        return self._pages.render(
            "message.html",
            status_code=403,
            title="This form was not accepted",
            message="It did not come from your privacy page. Go back to the page and try again.",
        )
