"""Error answers carry the security headers too: a path that does not exist, a method a
route does not take, and a failure nobody expected, on the web side and anywhere else.
(Every page of the web routes is checked in tests/web/test_security_headers.py.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.applications import Starlette

from fake_upstream import FakeUpstream
from veil.app import create_app
from veil.config import Settings
from veil.web.security_headers import HEADERS

ADMIN_KEY = "admin-key-errors-W2n8"


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    settings = Settings(
        upstream_base_url="https://upstream.test/v1",
        upstream_api_key="sk-upstream-errors",
        data_dir=tmp_path / "data",
        ner_model="",
        admin_key=SecretStr(ADMIN_KEY),
    )
    return create_app(settings, http_client=httpx.AsyncClient(transport=FakeUpstream().transport()))


def assert_secured(response: httpx.Response) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (response.request.method, response.request.url, name)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/admin/nothing-here", 404),
        ("GET", "/portal/nothing-here", 404),
        ("GET", "/privacy/nothing-here", 404),
        ("GET", "/static/nothing-here.css", 404),
        ("GET", "/nothing-here", 404),
        ("DELETE", "/portal", 405),
        ("PUT", "/admin/login", 405),
        ("GET", "/admin/subjects/app-user-1/erase", 405),
        ("POST", "/privacy/notice", 405),
    ],
)
async def test_not_found_and_wrong_method_carry_the_headers(
    app: Starlette, method: str, path: str, status: int
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://veil.test") as web:
        response = await web.request(method, path)

    assert response.status_code == status
    assert_secured(response)
    if status == 405:
        assert method not in response.headers["allow"]


async def test_an_unexpected_failure_on_a_page_carries_the_headers(
    app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> None:
        raise RuntimeError("the audit chain could not be read")

    monkeypatch.setattr(app.state.audit, "verify", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://veil.test") as web:
        api = await web.get("/admin/audit/verify", headers={"authorization": f"Bearer {ADMIN_KEY}"})
        await web.post("/admin/login", data={"key": ADMIN_KEY})
        page = await web.get("/admin")

    for response in (api, page):
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert_secured(response)
