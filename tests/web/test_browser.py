"""The portal and the dashboard in a real browser: Debian's headless Chromium, driven by
Playwright, against Veil served by uvicorn on a loopback port.

A person follows the link their app shows them (from another site, as in life), withdraws
a consent with its switch, downloads their data, and deletes it through the confirmation
step; afterwards nothing readable about them is left. An admin signs in to the dashboard.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import Response as PlaywrightResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from web_client import ADMIN, ADMIN_KEY, database_files

from veil.config import Settings
from veil.demo import LoopbackServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CANARY = "solveig.canary-8817@example.org"
USER = "browser-user-8817"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it)",
    ),
]


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def veil(make_app: Any) -> Iterator[str]:
    with LoopbackServer(make_app(storage_mode="full")) as server:
        yield server.url


def chat(veil: str, user: str, text: str) -> None:
    with openai.OpenAI(api_key="sk-client-key", base_url=f"{veil}/v1", max_retries=0) as client:
        client.chat.completions.create(
            model="gpt-test", messages=[{"role": "user", "content": text}], user=user
        )


def app_page(portal_url: str) -> Starlette:
    """The app's own page with the link to its user's privacy portal."""

    async def page(request: Request) -> Response:
        return HTMLResponse(f'<a id="privacy" href="{portal_url}">Your privacy settings</a>')

    return Starlette(routes=[Route("/", page)])


def watch_for_problems(page: Page) -> list[str]:
    """Console errors (a CSP violation is one) and error responses, as they happen; the
    browser's own favicon request aside."""
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def on_response(response: PlaywrightResponse) -> None:
        path = urlsplit(response.url).path
        if response.status >= 400 and path != "/favicon.ico":
            problems.append(f"{response.status} {path}")

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    return problems


def test_a_person_withdraws_consent_downloads_and_deletes_their_data(
    browser: Browser, veil: str, settings: Settings
) -> None:
    chat(veil, USER, f"Please write to {CANARY} about the invoice.")
    chat(veil, "bystander", "Someone else's request")
    issued = httpx.post(f"{veil}/admin/portal-tokens", json={"user": USER}, headers=ADMIN)
    assert issued.status_code == 200

    page = browser.new_page()
    page.set_default_timeout(5000)
    problems = watch_for_problems(page)
    # The app lives on another site ("localhost" is not "127.0.0.1"): the SameSite=Strict
    # session cookie must still be there once the browser reaches the portal.
    with LoopbackServer(app_page(issued.json()["url"])) as app:
        page.goto(app.url.replace("127.0.0.1", "localhost"))
        page.click("#privacy")
        page.wait_for_url(f"{veil}/portal")
    assert page.locator("h1").inner_text() == "Your data"
    assert [page.inner_text(f"#count-{name}") for name in ("requests", "transcripts", "vault")] == [
        "1",
        "1",
        "1",
    ]
    # The stylesheet is the site's own and loads under the CSP.
    assert page.eval_on_selector(".button", "e => getComputedStyle(e).backgroundColor") == "rgb(59, 110, 165)"

    switch = page.locator("#switch-send_to_provider")
    assert switch.get_attribute("aria-checked") == "true"
    switch.click()
    page.wait_for_load_state()
    assert page.locator("#switch-send_to_provider").get_attribute("aria-checked") == "false"
    with pytest.raises(openai.PermissionDeniedError) as refused:
        chat(veil, USER, "Is anyone there?")
    assert refused.value.code == "consent_withdrawn"

    with page.expect_download() as download:
        page.get_by_role("link", name="Download my data").click()
    assert download.value.suggested_filename == "my-data.json"
    exported = json.loads(Path(download.value.path()).read_text())
    assert [entry["value"] for entry in exported["vault"]] == [CANARY]
    assert CANARY in json.dumps(exported["transcripts"])
    assert exported["consent"]["send_to_provider"] == {"granted": False, "source": "subject"}

    page.get_by_role("link", name="Delete my data…").click()
    assert page.locator("h1").inner_text() == "Delete your data?"
    page.get_by_role("button", name="Delete my data").click()  # not confirmed: the browser holds it
    assert page.url == f"{veil}/portal/delete"
    assert page.locator("h1").inner_text() == "Delete your data?"
    page.get_by_label("I understand that this cannot be undone.").check()
    page.get_by_role("button", name="Delete my data").click()
    page.wait_for_url(f"{veil}/portal/delete")
    assert page.locator("h1").inner_text() == "Your data is deleted"
    assert page.inner_text("#key-destroyed") == "yes"
    page.goto(f"{veil}/portal")
    assert page.locator("h1").inner_text() == "Your privacy page has closed"
    assert problems == ["401 /portal"]  # the closed page, and nothing else went wrong

    after = httpx.get(f"{veil}/admin/subjects/{USER}/export", headers=ADMIN).json()
    assert (after["vault"], after["transcripts"], after["requests"], after["consent_history"]) == (
        [],
        [],
        [],
        [],
    )
    assert CANARY not in json.dumps(after)
    on_disk = database_files(settings.data_dir)
    assert CANARY.encode() not in on_disk
    assert USER.encode() not in on_disk


def test_an_admin_signs_in_and_sees_the_dashboard(browser: Browser, veil: str) -> None:
    chat(veil, "someone", f"Please write to {CANARY}.")
    page = browser.new_page()
    page.set_default_timeout(5000)
    problems = watch_for_problems(page)

    page.goto(f"{veil}/admin")
    page.get_by_label("Admin key").fill(ADMIN_KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{veil}/admin")

    assert page.inner_text("#audit-status").startswith("Audit chain intact")
    assert page.locator("#requests-chart rect").count() == 14
    assert page.locator("#requests-chart rect").last.get_attribute("height") == "120"  # today: the tallest
    assert "EMAIL_ADDRESS" in page.inner_text("#by-type")
    assert CANARY not in page.content()
    assert problems == []
