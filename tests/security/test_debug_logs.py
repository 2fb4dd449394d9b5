"""Nothing secret and no raw value reaches the logs, even at DEBUG.

A real `veil serve` runs with `VEIL_LOG_LEVEL=DEBUG` (every library's debug logging on: the
HTTP client and its connection pool, the server, the database, the NER model) and canaries
for everything it must keep to itself: the upstream API key, the admin key, the master key,
the client's own API key, a portal token, and a person's values and ids. Traffic goes
through every endpoint, whole and streamed, with errors from the client and the upstream,
the admin API and the portal. Then its whole output is searched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from fake_upstream import FakeUpstream
from stress.upstream_process import UpstreamProcess
from veil.app import create_app
from veil.config import Settings
from veil.store.master_key import encode_master_key
from veil_process import VeilProcess, running

MARK = secrets.token_hex(4)
UPSTREAM_KEY = f"sk-proj-upstreamCanary{MARK}Xq7Lw2Rt9"
ADMIN_KEY = f"admin-canary-{MARK}-Pz8"
CLIENT_KEY = f"sk-client-canary-{MARK}-Hd3"
MASTER_KEY = encode_master_key(secrets.token_bytes(32))
USER = f"canary.user.{MARK}@example.org"
# Values of types the rule detectors and the NER model find.
VALUES = {
    "email": f"marit.{MARK}@example.com",
    "phone": "+1 415-555-0199",
    "card": "4111 1111 1111 1111",
    "iban": "DE89370400440532013000",
    "ip": "203.0.113.77",
    "api_key": f"sk-proj-clientSecret{MARK}abcdefghijklmnop",
    "name": "Marit Canarysson",
}
PROMPT = (
    f"I am {VALUES['name']}, mail {VALUES['email']}, call {VALUES['phone']}, card {VALUES['card']},"
    f" IBAN {VALUES['iban']}, server {VALUES['ip']}, key {VALUES['api_key']}."
)


@dataclass
class Served:
    veil: VeilProcess
    upstream: UpstreamProcess


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("debug-logs")
    with UpstreamProcess() as upstream:
        env = {
            "VEIL_UPSTREAM_BASE_URL": upstream.url,
            "VEIL_UPSTREAM_API_KEY": UPSTREAM_KEY,
            "VEIL_ADMIN_KEY": ADMIN_KEY,
            "VEIL_MASTER_KEY": MASTER_KEY,
            "VEIL_DATA_DIR": str(workdir / "data"),
            "VEIL_STORAGE_MODE": "full",
            "VEIL_LOG_LEVEL": "DEBUG",
            "VEIL_NER_MODEL": "en_core_web_sm",
        }
        veil = VeilProcess(workdir, env)
        with running(veil):
            yield Served(veil, upstream)


def canaries(*more: str) -> dict[str, str]:
    return {
        "upstream key": UPSTREAM_KEY,
        "admin key": ADMIN_KEY,
        "client key": CLIENT_KEY,
        "master key": MASTER_KEY,
        "user id": USER,
        **VALUES,
        **{f"extra {n}": value for n, value in enumerate(more)},
    }


def traffic(url: str) -> list[str]:
    """Every kind of request, with the canaries in it; returns secrets learnt on the way."""
    learnt = []
    client = {"authorization": f"Bearer {CLIENT_KEY}", "x-veil-subject": USER}
    admin = {"authorization": f"Bearer {ADMIN_KEY}"}
    messages = [{"role": "user", "content": PROMPT}]
    with httpx.Client(base_url=url, timeout=30) as http:
        for stream in (False, True):
            chat = {"model": "m", "messages": messages, "user": USER, "stream": stream}
            assert http.post("/v1/chat/completions", json=chat, headers=client).status_code == 200
            responses = {"model": "m", "input": PROMPT, "user": USER, "stream": stream}
            http.post("/v1/responses", json=responses, headers=client)
            completions = {"model": "m", "prompt": PROMPT, "user": USER, "stream": stream}
            http.post("/v1/completions", json=completions, headers=client)
            failing = {**chat, "model": "status-400"}
            assert http.post("/v1/chat/completions", json=failing, headers=client).status_code == 400
            failing["model"] = "status-503"
            assert http.post("/v1/chat/completions", json=failing, headers=client).status_code == 503
        http.post("/v1/embeddings", json={"model": "m", "input": [PROMPT]}, headers=client)
        http.get("/v1/models", headers=client)
        # Bodies Veil cannot read, quoting the values.
        http.post("/v1/chat/completions", content=f'{{"model": "m", "messages": "{PROMPT}', headers=client)
        http.post("/v1/chat/completions", json={"model": "m", "messages": PROMPT}, headers=client)
        http.post("/v1/chat/completions", json={"messages": messages, "user": {"id": USER}}, headers=client)
        # A stream the client leaves halfway.
        chat = {"model": "paced-20", "messages": messages, "user": USER, "stream": True}
        with http.stream("POST", "/v1/chat/completions", json=chat, headers=client) as response:
            next(response.iter_bytes())
        # Admin API and dashboard, with wrong and right keys.
        http.get(f"/admin/subjects/{USER}/export", headers={"authorization": f"Bearer {ADMIN_KEY}x"})
        http.post("/admin/login", data={"key": f"{ADMIN_KEY}x"})
        assert http.get(f"/admin/subjects/{USER}/export", headers=admin).status_code == 200
        consent = {"purpose": "store_transcripts", "granted": False}
        http.put(f"/admin/subjects/{USER}/consent", json=consent, headers=admin)
        issued = http.post("/admin/portal-tokens", json={"user": USER}, headers=admin).json()
        learnt.append(issued["token"])
        http.post("/admin/login", data={"key": ADMIN_KEY})
        http.get("/admin")
        # The portal, entered with its token.
        assert http.get("/portal", params={"token": issued["token"]}).status_code == 200
        http.get("/portal")
        http.get("/portal/export")
        http.get("/portal", params={"token": issued["token"] + "x"})
        http.get("/admin/audit/verify", headers=admin)
        http.post(f"/admin/subjects/{USER}/erase", headers=admin)
    return learnt


def test_debug_logs_hold_no_key_token_value_or_id(served: Served) -> None:
    learnt = traffic(served.veil.url)
    log = served.veil.log()

    assert " DEBUG " in log and "veil.proxy" in log  # it did log, and at DEBUG
    secrets_and_values = canaries(*learnt)
    found = {name for name, canary in secrets_and_values.items() if canary in log}
    lines = [line for line in log.splitlines() if any(c in line for c in secrets_and_values.values())]
    assert found == set(), lines
    # The key went where it belongs, and only there.
    assert set(served.upstream.stats()["keys"]) == {f"Bearer {UPSTREAM_KEY}"}


async def test_an_unexpected_failure_logs_the_route_not_the_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path of an admin request names the app's user, often by e-mail address."""
    settings = Settings(
        upstream_base_url="https://upstream.test/v1",
        data_dir=tmp_path / "data",
        ner_model="",
        admin_key=SecretStr(ADMIN_KEY),
    )
    app: Starlette = create_app(settings, http_client=httpx.AsyncClient(transport=FakeUpstream().transport()))

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"export failed for {USER}")

    monkeypatch.setattr(app.state.subjects, "export", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://veil.test") as web:
        admin = {"authorization": f"Bearer {ADMIN_KEY}"}
        response = await web.get(f"/admin/subjects/{USER}/export", headers=admin)

    assert response.status_code == 500
    assert USER not in response.text
    assert "unhandled RuntimeError on GET /admin/subjects/{user:path}/export" in caplog.text
    assert USER not in caplog.text
