"""The privacy notice, in HTML and JSON, follows the configuration in force."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from web_client import BASE_URL

from veil.config import Settings
from veil.policy import policy_version


async def notice(app: Starlette, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as web:
        return await web.get("/privacy/notice", params=params)


async def notice_json(app: Starlette) -> dict[str, Any]:
    response = await notice(app, format="json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


def collected(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["category"]: item for item in document["collected"]}


@pytest.mark.parametrize(
    ("params", "headers", "kind"),
    [
        ({}, {}, "text/html"),
        ({}, {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, "text/html"),
        ({}, {"accept": "application/json"}, "application/json"),
        ({"format": "json"}, {"accept": "text/html"}, "application/json"),
        ({"format": "html"}, {"accept": "application/json"}, "text/html"),
    ],
)
async def test_html_or_json_as_asked(
    app: Starlette, web: httpx.AsyncClient, params: dict[str, str], headers: dict[str, str], kind: str
) -> None:
    response = await web.get("/privacy/notice", params=params, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(kind)
    assert "accept" in response.headers["vary"].lower()


async def test_both_forms_carry_the_policy_version_that_replies_carry(
    app: Starlette, web: httpx.AsyncClient, settings: Settings
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as raw:
        chat_response = await raw.post(
            "/v1/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            headers={"authorization": "Bearer sk-client"},
        )
    version = chat_response.headers["x-veil-policy-version"]

    document = await notice_json(app)
    page = await notice(app)

    assert version == policy_version(settings) == document["policy_version"]
    assert page.headers["x-veil-policy-version"] == version
    assert f'<code id="policy-version">{version}</code>' in page.text


async def test_what_is_kept_follows_the_storage_mode_and_retention(
    make_app: Callable[..., Starlette],
) -> None:
    full = make_app(
        storage_mode="full",
        retention_transcripts_days=12.0,
        retention_metadata_days=45.0,
        retention_vault_days=3.0,
    )
    document = await notice_json(full)
    items = collected(document)

    assert document["storage_mode"] == "full"
    assert items["transcripts"]["kept"] is True
    assert "with your personal data in them" in items["transcripts"]["what"]
    assert items["transcripts"]["retention_days"] == 12.0
    assert items["request_metadata"]["retention_days"] == 45.0
    assert items["vault_mappings"]["retention"] == "3 days after its last use"
    page = (await notice(full)).text
    assert '<code id="storage-mode">full</code>' in page
    assert "12 days" in page and "45 days" in page

    pseudonymized = collected(await notice_json(make_app(storage_mode="pseudonymized")))
    assert pseudonymized["transcripts"]["kept"] is True
    assert "replaced by tokens" in pseudonymized["transcripts"]["what"]

    nothing = collected(await notice_json(make_app(storage_mode="none", vault="memory")))
    assert nothing["transcripts"]["kept"] is False
    assert nothing["request_metadata"]["kept"] is False
    assert nothing["vault_mappings"]["where"] == "in this server's memory only"
    assert nothing["audit_log"]["kept"] is True


async def test_where_it_goes_names_the_host_only(make_app: Callable[..., Starlette]) -> None:
    app = make_app(upstream_base_url="https://svc-user:url-secret@llm.example.net:8443/v1/tenant-77")
    document = await notice_json(app)
    page = (await notice(app)).text

    assert document["recipients"][0]["host"] == "llm.example.net:8443"
    for text in (str(document), page):
        assert "llm.example.net" in text
        for hidden in ("url-secret", "svc-user", "tenant-77", "sk-upstream-test-key"):
            assert hidden not in text


async def test_what_is_redacted_is_what_the_detectors_find(make_app: Callable[..., Starlette]) -> None:
    rules = await notice_json(make_app())
    requests = rules["redacted"]["in_requests"]
    for entity_type in (
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "US_SSN",
        "IBAN_CODE",
        "IP_ADDRESS",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "PRIVATE_KEY",
        "PERSON",
        "LOCATION",
        "STREET_ADDRESS",
    ):
        assert entity_type in requests
    assert "NRP" not in requests  # only the NER model finds those, and it is off here
    # Replies are scanned by the rule detectors only: no names or places.
    assert "EMAIL_ADDRESS" in rules["redacted"]["in_replies"]
    assert "PERSON" not in rules["redacted"]["in_replies"]

    page = html.unescape((await notice(make_app())).text)
    assert "<li><code>AWS_SECRET_ACCESS_KEY</code></li>" in page

    assert (await notice_json(make_app(scan_responses=False)))["redacted"]["in_replies"] == []
    with_model = await notice_json(make_app(ner_model="en_core_web_sm"))
    assert {"NRP", "ORGANIZATION"} <= set(with_model["redacted"]["in_requests"])


async def test_consent_purposes_and_their_configured_defaults(make_app: Callable[..., Starlette]) -> None:
    document = await notice_json(make_app(consent_defaults={"provider_retention": True}))
    consent = {item["purpose"]: item for item in document["consent"]}

    assert set(consent) == {"send_to_provider", "store_transcripts", "provider_retention"}
    assert consent["provider_retention"]["default"] is True
    assert consent["send_to_provider"]["default"] is True
    assert all(item["description"] for item in consent.values())
    default = {item["purpose"]: item["default"] for item in (await notice_json(make_app()))["consent"]}
    assert default["provider_retention"] is False


async def test_who_you_are_follows_the_subject_sources(make_app: Callable[..., Starlette]) -> None:
    document = await notice_json(make_app(subject_sources=("header",), subject_header="x-app-user"))
    assert document["who_you_are"]["identified_by"] == ["the x-app-user header"]
