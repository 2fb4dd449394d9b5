"""The privacy portal over HTTP: what it shows, consent switches, download, the delete flow,
and forms refused without the session's CSRF token or from another origin."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest
from starlette.applications import Starlette
from web_client import ADMIN, BASE_URL, chat, csrf_of, database_files, enter_portal

from fake_upstream import FakeUpstream
from veil.config import Settings

CANARY = "ingrid.canary-2290@example.org"
USER = "portal-user-2290"


def subject(app: Starlette) -> str:
    scope: str = app.state.scopes.subject_scope(USER)
    return scope


def consent_history(app: Starlette) -> list[dict[str, Any]]:
    history: list[dict[str, Any]] = app.state.consents.history(subject(app))
    return history


async def test_the_page_shows_what_is_held_and_the_consent_switches(
    app: Starlette, web: httpx.AsyncClient
) -> None:
    await chat(app, USER, f"write to {CANARY}")
    await chat(app, USER, "and again, nothing personal")
    await enter_portal(web, USER)

    page = (await web.get("/portal")).text

    assert '<dd id="count-requests">2</dd>' in page
    assert '<dd id="count-transcripts">0</dd>' in page
    assert '<dd id="count-vault">1</dd>' in page
    assert 'id="switch-send_to_provider"' in page and 'aria-checked="true"' in page
    assert 'id="switch-provider_retention"' in page and 'aria-checked="false"' in page
    assert "AI provider keep my requests" in page  # the purpose's description
    assert CANARY not in page  # counts only; the values are in the download


async def test_a_switch_withdraws_consent_from_the_next_request_on(
    app: Starlette, web: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    await chat(app, USER, "before")
    csrf = await enter_portal(web, USER)

    response = await web.post(
        "/portal/consent", data={"csrf": csrf, "purpose": "send_to_provider", "granted": "no"}
    )

    assert response.status_code == 303 and response.headers["location"] == "/portal"
    assert [(h["purpose"], h["granted"], h["source"]) for h in consent_history(app)] == [
        ("send_to_provider", False, "portal")
    ]
    with pytest.raises(openai.PermissionDeniedError) as refused:
        await chat(app, USER, "after")
    assert refused.value.code == "consent_withdrawn"
    assert len(upstream.bodies) == 1
    page = (await web.get("/portal")).text
    assert '<input type="hidden" name="granted" value="yes">' in page  # the switch now turns it on


@pytest.mark.parametrize(
    "tamper",
    [
        "no-token",
        "wrong-token",
        "empty-token",
        "other-session",
        "other-origin",
        "cross-site",
        "same-site",
        "json",
    ],
)
async def test_a_form_without_this_sessions_csrf_token_is_refused(
    app: Starlette, web: httpx.AsyncClient, tamper: str
) -> None:
    csrf = await enter_portal(web, USER)
    other_csrf = csrf
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as other:
        other_csrf = await enter_portal(other, "someone-else")
    assert other_csrf != csrf
    fields: dict[str, str] = {"csrf": csrf, "purpose": "store_transcripts", "granted": "no"}
    headers: dict[str, str] = {}
    content: bytes | None = None
    if tamper == "no-token":
        del fields["csrf"]
    elif tamper == "wrong-token":
        fields["csrf"] = csrf[:-1] + ("A" if csrf[-1] != "A" else "B")
    elif tamper == "empty-token":
        fields["csrf"] = ""
    elif tamper == "other-session":
        fields["csrf"] = other_csrf
    elif tamper == "other-origin":
        headers["origin"] = "https://evil.example"
    elif tamper == "cross-site":
        headers["sec-fetch-site"] = "cross-site"
    elif tamper == "same-site":  # a sibling subdomain is another origin
        headers["sec-fetch-site"], headers["origin"] = "same-site", "http://other.veil.test"
    elif tamper == "json":
        content, headers["content-type"] = json.dumps(fields).encode(), "application/json"

    if content is None:
        response = await web.post("/portal/consent", data=fields, headers=headers)
    else:
        response = await web.post("/portal/consent", content=content, headers=headers)

    assert response.status_code == 403
    assert "was not accepted" in response.text
    assert consent_history(app) == []
    # The same form with the token, from this site, is taken; under `no-referrer` the
    # browser sends its Origin as "null", and Sec-Fetch-Site tells.
    for from_here in ({"origin": BASE_URL}, {"origin": "null", "sec-fetch-site": "same-origin"}):
        accepted = await web.post("/portal/consent", data={**fields, "csrf": csrf}, headers=from_here)
        assert accepted.status_code == 303
    assert len(consent_history(app)) == 2


async def test_without_a_session_nothing_is_shown_or_done(app: Starlette, web: httpx.AsyncClient) -> None:
    await chat(app, USER, f"write to {CANARY}")
    for method, path, data in (
        ("GET", "/portal", None),
        ("GET", "/portal/export", None),
        ("GET", "/portal/delete", None),
        ("POST", "/portal/consent", {"purpose": "send_to_provider", "granted": "no", "csrf": "x"}),
        ("POST", "/portal/delete", {"confirm": "yes", "csrf": "x"}),
    ):
        response = await web.request(method, path, data=data)
        assert response.status_code == 401, path
        assert CANARY not in response.text
    assert consent_history(app) == []
    exported = await web.get(f"/admin/subjects/{USER}/export", headers=ADMIN)
    assert CANARY in exported.text


async def test_unknown_choices_are_refused(app: Starlette, web: httpx.AsyncClient) -> None:
    csrf = await enter_portal(web, USER)
    for fields in (
        {"purpose": "marketing", "granted": "no"},
        {"purpose": "send_to_provider", "granted": "maybe"},
        {"purpose": "send_to_provider"},
    ):
        response = await web.post("/portal/consent", data={"csrf": csrf, **fields})
        assert response.status_code == 400
    assert consent_history(app) == []


async def test_download_is_the_full_export_as_an_attachment(app: Starlette, web: httpx.AsyncClient) -> None:
    await chat(app, USER, f"write to {CANARY}")
    await enter_portal(web, USER)

    response = await web.get("/portal/export")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == 'attachment; filename="my-data.json"'
    document = response.json()
    assert [entry["value"] for entry in document["vault"]] == [CANARY]
    assert document["subject"] == subject(app)
    entries = app.state.audit.entries_of(subject(app))
    assert (entries[-1]["kind"], entries[-1]["data"]) == ("export", {"by": "portal"})


async def test_delete_asks_first_then_erases_and_shows_the_receipt(
    app: Starlette, web: httpx.AsyncClient, settings: Settings
) -> None:
    await chat(app, USER, f"write to {CANARY}")
    await chat(app, "bystander", "my own request")
    csrf = await enter_portal(web, USER)

    confirm_page = await web.get("/portal/delete")
    assert confirm_page.status_code == 200
    assert 'name="confirm"' in confirm_page.text and csrf_of(confirm_page.text) == csrf

    unconfirmed = await web.post("/portal/delete", data={"csrf": csrf})
    assert unconfirmed.status_code == 400
    assert CANARY in (await web.get("/portal/export")).text  # nothing was erased

    erased = await web.post("/portal/delete", data={"csrf": csrf, "confirm": "yes"})

    assert erased.status_code == 200
    assert "Your data is deleted" in erased.text
    assert '<dd id="key-destroyed">yes</dd>' in erased.text
    assert 'veil_portal=""' in erased.headers["set-cookie"]  # the session ends with the data
    assert (await web.get("/portal")).status_code == 401
    document = (await web.get(f"/admin/subjects/{USER}/export", headers=ADMIN)).json()
    assert (document["vault"], document["requests"], document["consent_history"]) == ([], [], [])
    assert CANARY.encode() not in database_files(settings.data_dir)
    erasure = [e for e in document["audit"] if e["kind"] == "erasure"]
    assert erasure[0]["data"]["by"] == "portal"
    assert len((await web.get("/admin/subjects/bystander/export", headers=ADMIN)).json()["requests"]) == 1
