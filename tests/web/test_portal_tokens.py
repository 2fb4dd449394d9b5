"""Portal tokens: signed, short-lived, bound to one subject; expired, altered, forged and
foreign tokens are refused, by the token code and by the portal itself."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from web_client import ADMIN, chat

from fake_clock import FakeClock
from veil.app import build_key_provider
from veil.config import Settings
from veil.store.subject_keys import SubjectKeys
from veil.web.portal import PORTAL_COOKIE
from veil.web.portal_tokens import MAX_TTL_SECONDS, PORTAL_TOKEN_SECRET, InvalidTtl, PortalTokens
from veil.web.signer import Signer

SECRET = secrets.token_bytes(32)
ALICE = "subject:" + "a" * 32
BOB = "subject:" + "b" * 32


def tokens(clock: Callable[[], float] = time.time, secret: bytes = SECRET) -> PortalTokens:
    return PortalTokens(secret, default_ttl_seconds=900, clock=clock)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_a_token_names_its_subject_until_it_expires() -> None:
    clock = FakeClock()
    issued = tokens(clock).issue(ALICE, 60)

    assert issued.expires_at == clock.now + 60
    verified = tokens(clock).verify(issued.token)
    assert verified is not None and verified.subject == ALICE
    clock.advance(59.5)
    assert tokens(clock).verify(issued.token) is not None
    clock.advance(0.5)
    assert tokens(clock).verify(issued.token) is None  # at its expiry it is over
    clock.advance(3600)
    assert tokens(clock).verify(issued.token) is None


def test_the_default_lifetime_applies_and_long_or_empty_lifetimes_are_refused() -> None:
    clock = FakeClock()
    assert tokens(clock).issue(ALICE).expires_at == clock.now + 900
    assert tokens(clock).issue(ALICE, 0.2).expires_at == clock.now + 1  # never already expired
    for ttl in (0, -1, MAX_TTL_SECONDS + 1):
        with pytest.raises(InvalidTtl):
            tokens(clock).issue(ALICE, ttl)


def test_any_changed_character_is_refused() -> None:
    token = tokens().issue(ALICE).token
    for position in range(len(token)):
        changed = "A" if token[position] != "A" else "B"
        altered = token[:position] + changed + token[position + 1 :]
        assert tokens().verify(altered) is None, position


def test_a_token_moved_to_another_subject_or_a_later_expiry_is_refused() -> None:
    token = tokens().issue(ALICE, 60).token
    payload, mac = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    for forged_claims in ({**claims, "sub": BOB}, {**claims, "exp": claims["exp"] + 86_400}):
        forged_payload = b64(json.dumps(forged_claims, separators=(",", ":"), sort_keys=True).encode())
        assert tokens().verify(f"{forged_payload}.{mac}") is None


def test_tokens_of_another_installation_and_other_signed_values_are_refused() -> None:
    foreign = tokens(secret=secrets.token_bytes(32)).issue(ALICE).token
    assert tokens().verify(foreign) is None
    # A session cookie is signed with the same installation secret, for another purpose.
    cookie, _ = Signer(SECRET, "session/veil_portal").sign({"sub": ALICE, "csrf": "x"}, 60)
    assert tokens().verify(cookie) is None


@pytest.mark.parametrize(
    "garbage",
    ["", ".", "a.b", "..", "no-dot", "é.é", "x" * 5000, b64(b"[1,2]") + "." + b64(b"\0" * 32)],
)
def test_garbage_is_refused(garbage: str) -> None:
    assert tokens().verify(garbage) is None


def installation_tokens(settings: Settings, app: Starlette, clock: Callable[[], float]) -> PortalTokens:
    """Tokens signed with the running app's own secret (read from its database), on `clock`."""
    keys = SubjectKeys(app.state.database, build_key_provider(settings))
    return PortalTokens(keys.installation_secret(PORTAL_TOKEN_SECRET), default_ttl_seconds=60, clock=clock)


async def test_the_portal_refuses_an_expired_token(
    app: Starlette, web: httpx.AsyncClient, settings: Settings
) -> None:
    subject = app.state.scopes.subject_scope("app-user-1")
    expired = installation_tokens(settings, app, lambda: time.time() - 3600).issue(subject, 60)
    fresh = installation_tokens(settings, app, time.time).issue(subject, 60)

    refused = await web.get("/portal", params={"token": expired.token})
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers
    assert "expired or is not valid" in refused.text
    assert (await web.get("/portal")).status_code == 401

    accepted = await web.get("/portal", params={"token": fresh.token})  # same secret, in date
    assert accepted.status_code == 200 and "veil_portal" in web.cookies


async def test_the_portal_refuses_a_forged_token(app: Starlette, web: httpx.AsyncClient) -> None:
    subject = app.state.scopes.subject_scope("app-user-1")
    forged = tokens().issue(subject).token  # right shape, another secret

    response = await web.get("/portal", params={"token": forged})

    assert response.status_code == 401
    assert "set-cookie" not in response.headers


async def test_a_token_opens_its_own_subjects_data_only(app: Starlette, web: httpx.AsyncClient) -> None:
    await chat(app, "alice", "mail alice.canary@example.org")
    await chat(app, "bob", "mail bob.canary@example.org and call +1 212 555 0147")
    await chat(app, "bob", "again")

    issued = await web.post("/admin/portal-tokens", json={"user": "alice"}, headers=ADMIN)
    await web.get("/portal", params={"token": issued.json()["token"]})
    page = (await web.get("/portal")).text
    exported = (await web.get("/portal/export")).text

    assert '<dd id="count-requests">1</dd>' in page
    assert '<dd id="count-vault">1</dd>' in page
    assert "alice.canary@example.org" in exported
    assert "bob.canary@example.org" not in exported


async def test_the_session_ends_with_the_token(
    app: Starlette, web: httpx.AsyncClient, settings: Settings
) -> None:
    issued = await web.post("/admin/portal-tokens", json={"user": "alice", "ttl_seconds": 30}, headers=ADMIN)
    entered = await web.get("/portal", params={"token": issued.json()["token"]})

    cookie = entered.headers["set-cookie"].lower()
    max_age = int(cookie.split("max-age=")[1].split(";")[0])
    assert 28 <= max_age <= 31
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/portal" in cookie

    # The cookie's own signed expiry counts, whatever the browser does with Max-Age.
    secret = SubjectKeys(app.state.database, build_key_provider(settings)).installation_secret(
        PORTAL_TOKEN_SECRET
    )
    subject = app.state.scopes.subject_scope("alice")
    for clock, status in ((lambda: time.time() - 3600, 401), (time.time, 200)):
        value, _ = Signer(secret, f"session/{PORTAL_COOKIE}", clock=clock).sign(
            {"sub": subject, "csrf": "x"}, 60
        )
        web.cookies.set(PORTAL_COOKIE, value, domain="veil.test", path="/portal")
        assert (await web.get("/portal")).status_code == status
