"""The admin API: the key on every endpoint, export, erasure, consent, portal tokens and the
audit chain's state, on a real SQLite database with chat requests sent through the SDK."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import openai
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from web_client import ADMIN, BASE_URL, chat, database_files

from fake_upstream import FakeUpstream
from held_lock import held_lock
from veil.config import Settings
from veil.store.database import StoreError
from veil.store.schema import audit_log

CANARY = "marit.canary-4711@example.org"
USER = "app-user-4711"
OTHER = "app-user-0815"

# Every admin endpoint, with a body it would accept.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", f"/admin/subjects/{USER}/export", None),
    ("POST", f"/admin/subjects/{USER}/erase", None),
    ("GET", f"/admin/subjects/{USER}/consent", None),
    ("PUT", f"/admin/subjects/{USER}/consent", {"purpose": "send_to_provider", "granted": False}),
    ("POST", "/admin/portal-tokens", {"user": USER}),
    ("GET", "/admin/audit/verify", None),
]


def assert_error(response: httpx.Response, status: int, code: str, param: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["code"] == code
    assert error["param"] == param


async def export(web: httpx.AsyncClient, user: str = USER) -> dict[str, Any]:
    response = await web.get(f"/admin/subjects/{user}/export", headers=ADMIN)
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer not-the-admin-key"},
        {"authorization": f"Basic {ADMIN['authorization'].split()[1]}"},
        {"authorization": f"Bearer {ADMIN['authorization'].split()[1]}x"},
        {"authorization": "Bearer "},
    ],
    ids=["no-key", "wrong-key", "wrong-scheme", "key-plus-one", "empty"],
)
async def test_every_endpoint_refuses_without_the_admin_key(
    app: Starlette, web: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await chat(app, USER, f"write to {CANARY}")
    for method, path, body in ENDPOINTS:
        response = await web.request(method, path, json=body, headers=headers)
        assert_error(response, 401, "invalid_admin_key")
        assert response.json()["error"]["type"] == "authentication_error"
        assert response.headers["www-authenticate"].startswith("Bearer")

    # Nothing happened: the erasure and the consent change were refused, not done.
    document = await export(web)
    assert CANARY in json.dumps(document)
    assert document["consent_history"] == []


async def test_every_endpoint_is_disabled_without_a_configured_key(
    make_app: Callable[..., Starlette],
) -> None:
    app = make_app(admin_key=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as web:
        for method, path, body in ENDPOINTS:
            for headers in ({}, ADMIN, {"authorization": "Bearer "}):
                response = await web.request(method, path, json=body, headers=headers)
                assert_error(response, 401, "admin_disabled")
                assert "VEIL_ADMIN_KEY" in response.json()["error"]["message"]


async def test_export_holds_the_canary_sent_earlier_and_only_for_its_user(
    app: Starlette, web: httpx.AsyncClient
) -> None:
    await chat(app, USER, f"please write to {CANARY} today")
    await chat(app, OTHER, "nothing personal here")

    document = await export(web)
    assert [entry["value"] for entry in document["vault"]] == [CANARY]
    assert document["vault"][0]["entity_type"] == "EMAIL_ADDRESS"
    assert len(document["requests"]) == 1
    assert document["requests"][0]["entities"]["request"] == {"EMAIL_ADDRESS": 1}
    assert USER not in json.dumps(document)  # the app's id is never kept, only its pseudonym
    assert CANARY not in json.dumps(await export(web, OTHER))

    kinds = [entry["kind"] for entry in document["audit"]]
    assert kinds == ["request"]  # the export's own entry is written after the document
    assert [e["kind"] for e in (await export(web))["audit"]][-1] == "export"


async def test_erase_destroys_the_key_and_leaves_nothing_readable(
    app: Starlette, web: httpx.AsyncClient, settings: Settings
) -> None:
    await chat(app, USER, f"please write to {CANARY} today")
    await chat(app, OTHER, "someone else's request")
    assert CANARY in json.dumps(await export(web))

    response = await web.post(f"/admin/subjects/{USER}/erase", headers=ADMIN)

    assert response.status_code == 200
    receipt = response.json()
    assert receipt["data_key_destroyed"] is True
    assert receipt["removed"]["vault_mappings"] == 1
    assert receipt["removed"]["request_records"] == 1
    assert isinstance(receipt["audit_entry"], int)
    document = await export(web)
    assert (document["vault"], document["requests"], document["transcripts"]) == ([], [], [])
    assert CANARY not in json.dumps(document)
    assert CANARY.encode() not in database_files(settings.data_dir)
    assert len((await export(web, OTHER))["requests"]) == 1  # nobody else's data went
    assert (await web.get("/admin/audit/verify", headers=ADMIN)).json()["ok"] is True


async def test_a_consent_withdrawn_by_the_admin_refuses_the_very_next_request(
    app: Starlette, web: httpx.AsyncClient, upstream: FakeUpstream
) -> None:
    await chat(app, USER, "first")
    response = await web.put(
        f"/admin/subjects/{USER}/consent",
        json={"purpose": "send_to_provider", "granted": False},
        headers=ADMIN,
    )
    assert response.status_code == 200
    assert response.json()["consent"]["send_to_provider"] == {"granted": False, "source": "subject"}

    with pytest.raises(openai.PermissionDeniedError) as refused:
        await chat(app, USER, f"second, with {CANARY}")

    assert refused.value.status_code == 403
    assert refused.value.code == "consent_withdrawn"
    assert len(upstream.bodies) == 1
    assert CANARY.encode() not in upstream.seen()
    await chat(app, OTHER, "another user is not affected")
    assert len(upstream.bodies) == 2


async def test_consent_shows_state_and_history_with_its_source(web: httpx.AsyncClient) -> None:
    before = (await web.get(f"/admin/subjects/{USER}/consent", headers=ADMIN)).json()
    assert before["consent"]["provider_retention"] == {"granted": False, "source": "default"}
    assert before["history"] == []

    for granted in (True, False, True):
        await web.put(
            f"/admin/subjects/{USER}/consent",
            json={"purpose": "provider_retention", "granted": granted},
            headers=ADMIN,
        )
    after = (await web.get(f"/admin/subjects/{USER}/consent", headers=ADMIN)).json()

    assert after["consent"]["provider_retention"] == {"granted": True, "source": "subject"}
    assert [(h["purpose"], h["granted"], h["source"]) for h in after["history"]] == [
        ("provider_retention", True, "admin"),
        ("provider_retention", False, "admin"),
        ("provider_retention", True, "admin"),
    ]
    assert after["subject"].startswith("subject:") and USER not in json.dumps(after)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"purpose": "marketing", "granted": False}, "purpose"),
        ({"granted": False}, "purpose"),
        ({"purpose": "send_to_provider", "granted": "no"}, "granted"),
        ({"purpose": "send_to_provider", "granted": 0}, "granted"),
    ],
)
async def test_a_consent_change_that_is_not_one_is_refused(
    web: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    response = await web.put(f"/admin/subjects/{USER}/consent", json=body, headers=ADMIN)
    assert_error(response, 400, "invalid_request", param)
    assert (await web.get(f"/admin/subjects/{USER}/consent", headers=ADMIN)).json()["history"] == []


async def test_a_body_that_is_not_json_is_refused(web: httpx.AsyncClient) -> None:
    response = await web.put(f"/admin/subjects/{USER}/consent", content=b"{nope", headers=ADMIN)
    assert_error(response, 400, "invalid_request")


async def test_portal_token_issuing_is_audited_and_links_to_the_portal(
    app: Starlette, web: httpx.AsyncClient
) -> None:
    before = time.time()
    response = await web.post("/admin/portal-tokens", json={"user": USER, "ttl_seconds": 120}, headers=ADMIN)

    assert response.status_code == 200
    issued = response.json()
    assert set(issued) == {"token", "url", "expires_at"}
    assert issued["url"] == f"{BASE_URL}/portal?token={issued['token']}"
    assert before + 120 <= issued["expires_at"] <= time.time() + 121
    assert USER not in issued["token"]
    subject = app.state.scopes.subject_scope(USER)
    assert app.state.portal_tokens.verify(issued["token"]).subject == subject
    entries = app.state.audit.entries_of(subject)
    assert [(e["kind"], e["data"]) for e in entries] == [
        ("portal_token", {"by": "admin", "expires_at": issued["expires_at"]})
    ]


async def test_portal_tokens_default_to_the_configured_lifetime(
    make_app: Callable[..., Starlette],
) -> None:
    app = make_app(portal_token_ttl_seconds=300)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as web:
        issued = (await web.post("/admin/portal-tokens", json={"user": USER}, headers=ADMIN)).json()
    assert abs(issued["expires_at"] - (time.time() + 300)) <= 2


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "user"),
        ({"user": ""}, "user"),
        ({"user": 4711}, "user"),
        ({"user": USER, "ttl_seconds": 0}, "ttl_seconds"),
        ({"user": USER, "ttl_seconds": -5}, "ttl_seconds"),
        ({"user": USER, "ttl_seconds": 10 * 86_400}, "ttl_seconds"),
        ({"user": USER, "ttl_seconds": "60"}, "ttl_seconds"),
        ({"user": USER, "ttl_seconds": True}, "ttl_seconds"),
    ],
)
async def test_a_token_request_that_is_not_one_is_refused(
    app: Starlette, web: httpx.AsyncClient, body: dict[str, Any], param: str
) -> None:
    response = await web.post("/admin/portal-tokens", json=body, headers=ADMIN)
    assert_error(response, 400, "invalid_request", param)
    with app.state.database.read() as conn:
        assert conn.execute(sa.select(audit_log).where(audit_log.c.kind == "portal_token")).first() is None


async def test_audit_verify_reports_an_intact_chain_and_names_an_edited_entry(
    app: Starlette, web: httpx.AsyncClient
) -> None:
    await chat(app, USER, f"hello {CANARY}")
    await chat(app, OTHER, "hello")
    intact = (await web.get("/admin/audit/verify", headers=ADMIN)).json()
    assert intact == {"ok": True, "entries": 2, "first_bad_seq": None, "problem": None}

    with app.state.database.write() as conn:
        body = conn.execute(sa.select(audit_log.c.body).where(audit_log.c.seq == 1)).scalar_one()
        conn.execute(
            sa.update(audit_log)
            .where(audit_log.c.seq == 1)
            .values(body=body.replace('"request"', '"requesx"'))
        )
    broken = (await web.get("/admin/audit/verify", headers=ADMIN)).json()

    assert broken["ok"] is False
    assert broken["first_bad_seq"] == 1
    assert "entry 1" in broken["problem"]


async def test_a_user_id_with_a_slash_and_spaces_is_one_subject(
    app: Starlette, web: httpx.AsyncClient
) -> None:
    user = "tenant/42 user@example"
    await chat(app, user, f"hello {CANARY}")
    response = await web.get(f"/admin/subjects/{quote(user, safe='')}/export", headers=ADMIN)
    assert response.status_code == 200
    assert [entry["value"] for entry in response.json()["vault"]] == [CANARY]


CONSENT = f"/admin/subjects/{USER}/consent"
WITHDRAW = {"purpose": "send_to_provider", "granted": False}
NOTHING_CHANGED = "nothing was changed"
MAYBE_APPLIED = "may or may not have been applied"


def failing(*args: Any, **kwargs: Any) -> Any:
    raise StoreError("database sqlite:///veil.db failed: disk I/O error")


# Each endpoint, the store call made to fail, and what its 503 can truthfully say.
UNAVAILABLE: list[tuple[str, str, dict[str, Any] | None, str, str, str]] = [
    ("GET", CONSENT, None, "consents", "state", NOTHING_CHANGED),
    ("GET", "/admin/audit/verify", None, "audit", "verify", NOTHING_CHANGED),
    ("GET", f"/admin/subjects/{USER}/export", None, "subjects", "export", "no export was returned"),
    ("POST", f"/admin/subjects/{USER}/erase", None, "subjects", "erase", MAYBE_APPLIED),
    ("PUT", CONSENT, WITHDRAW, "consents", "set", MAYBE_APPLIED),
    ("POST", "/admin/portal-tokens", {"user": USER}, "audit", "record", "no portal token was returned"),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "store", "call", "said"),
    UNAVAILABLE,
    ids=[f"{method} {path.rsplit('/', 1)[-1]} ({call} fails)" for method, path, _, _, call, _ in UNAVAILABLE],
)
async def test_a_503_promises_only_what_is_true(
    app: Starlette,
    web: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    store: str,
    call: str,
    said: str,
) -> None:
    """Where a write may have happened (a commit can fail after the database applied it), the
    503 says the change may or may not have been applied; "nothing was changed" is said only
    where nothing was written."""
    monkeypatch.setattr(getattr(app.state, store), call, failing)
    response = await web.request(method, path, json=body, headers=ADMIN)
    assert_error(response, 503, "storage_unavailable")
    message = response.json()["error"]["message"]
    assert said in message
    assert "disk I/O" not in message and "sqlite" not in message
    if said != NOTHING_CHANGED:
        assert NOTHING_CHANGED not in message


async def test_a_consent_change_read_back_after_its_write_is_not_called_unchanged(
    app: Starlette, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PUT writes, then reads the consent back: when the read fails, the change was made,
    and the 503 says so (not "nothing was changed"); the next read shows it."""
    with monkeypatch.context() as patched:
        patched.setattr(app.state.consents, "history", failing)
        response = await web.put(CONSENT, json=WITHDRAW, headers=ADMIN)

    assert_error(response, 503, "storage_unavailable")
    message = response.json()["error"]["message"]
    assert "was applied" in message and NOTHING_CHANGED not in message and MAYBE_APPLIED not in message
    after = (await web.get(CONSENT, headers=ADMIN)).json()
    assert after["consent"]["send_to_provider"] == {"granted": False, "source": "subject"}
    assert [(h["purpose"], h["granted"], h["source"]) for h in after["history"]] == [
        ("send_to_provider", False, "admin")
    ]


async def test_a_consent_change_refused_by_a_locked_database_may_be_read_back(
    make_app: Callable[..., Starlette], tmp_path: Path
) -> None:
    """On a real database whose write lock another process holds, the change fails: the 503
    asks to read it back, and reading it back shows it was not made."""
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    app = make_app(database_url=url, database_lock_timeout_seconds=0.3)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as web:
        with held_lock(url, "consents", seconds=30):
            response = await web.put(CONSENT, json=WITHDRAW, headers=ADMIN)
            assert_error(response, 503, "storage_unavailable")
            assert MAYBE_APPLIED in response.json()["error"]["message"]
            read_back = await web.get(CONSENT, headers=ADMIN)  # reads go on (WAL)
        assert read_back.json()["history"] == []
    app.state.database.dispose()
