"""Issue 6 through the official SDK: policy actions, tenants and virtual keys, provider
controls, and a policy reloaded under traffic."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette

from fake_upstream import FakeUpstream, Script
from sdk import sdk_client
from veil.store.schema import audit_log, request_records
from veil.store.virtual_keys import VirtualKeys

EMAIL = "ana.lima@corp.example"
CARD = "4111 1111 1111 1111"
SSN = "536-22-8726"

POLICY = """
[default.actions]
US_SSN = "block"
CREDIT_CARD = "mask"

[tenants.acme]
deny = ["Project Falcon"]
upstream_key_env = "ACME_UPSTREAM_KEY"

[tenants.acme.actions]
EMAIL_ADDRESS = "surrogate"
DENY_LIST = "redact"

[[tenants.acme.detectors]]
entity_type = "EMPLOYEE_ID"
pattern = 'EMP-\\d{6}'

[tenants.globex]
upstream_key_env = "GLOBEX_UPSTREAM_KEY"
response_scanning = "off"

[tenants.globex.provider]
subject_ids = "drop"
force_store_false = true
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY)
    return path


@pytest.fixture
def app(make_app: Callable[..., Starlette], policy_file: Path, monkeypatch: pytest.MonkeyPatch) -> Starlette:
    monkeypatch.setenv("ACME_UPSTREAM_KEY", "sk-acme-upstream")
    monkeypatch.setenv("GLOBEX_UPSTREAM_KEY", "sk-globex-upstream")
    return make_app(policy_file=policy_file, policy_check_seconds=0.0, ner_model="")


def key_for(app: Starlette, tenant: str) -> str:
    return VirtualKeys(app.state.database).create(tenant)[1]


async def ask(app: Starlette, text: str, *, key: str = "sk-client-key", **extra: Any) -> Any:
    client = sdk_client(app, api_key=key)
    try:
        return await client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": text}], **extra
        )
    finally:
        await client.close()


async def test_block_refuses_naming_the_type_and_forwards_nothing(
    app: Starlette, upstream: FakeUpstream
) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        await ask(app, f"my SSN is {SSN}", user="u1")

    assert refused.value.code == "blocked_by_policy"
    assert "US_SSN" in refused.value.message and SSN not in refused.value.message
    assert upstream.raw_requests == []
    with app.state.database.read() as conn:
        entry = json.loads(
            conn.execute(sa.select(audit_log.c.body).order_by(audit_log.c.seq.desc())).first()[0]
        )
    assert entry["data"]["outcome"] == "blocked" and entry["data"]["actions"] == {"US_SSN": "block"}


async def test_mask_leaves_the_last_four_and_the_policy_version_is_stamped(
    app: Starlette, upstream: FakeUpstream
) -> None:
    reply = await ask(app, f"charge {CARD}", user="u1")

    assert upstream.bodies[0]["messages"][0]["content"] == "charge **** **** **** 1111"
    version = app.state.policies.current().version
    assert reply.headers["x-veil-policy-version"] == version
    with app.state.database.read() as conn:
        assert conn.execute(sa.select(request_records.c.policy_version)).scalar_one() == version


async def test_a_surrogate_goes_upstream_and_the_real_value_comes_back(
    app: Starlette, upstream: FakeUpstream
) -> None:
    key = key_for(app, "acme")

    whole = await ask(app, f"write to {EMAIL}", key=key, user="u1")
    fake = upstream.bodies[0]["messages"][0]["content"].removeprefix("write to ")
    client = sdk_client(app, api_key=key)
    stream = await client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": f"again {EMAIL}"}], user="u1", stream=True
    )
    streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    await client.close()

    assert re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|net|org)", fake)
    assert EMAIL.encode() not in upstream.seen()
    assert whole.parse().choices[0].message.content == f"You said: write to {EMAIL}"
    assert streamed == f"You said: again {EMAIL}"  # the guard let the surrogate through, then it was restored
    assert upstream.bodies[1]["messages"][0]["content"] == f"again {fake}"  # stable per subject


async def test_a_tenant_s_own_detectors_and_deny_terms(app: Starlette, upstream: FakeUpstream) -> None:
    key = key_for(app, "acme")

    await ask(app, "EMP-004211 asks about project falcon", key=key)

    assert upstream.bodies[0]["messages"][0]["content"] == "<EMPLOYEE_ID_1> asks about [REDACTED_DENY_LIST]"


async def test_keys_decide_the_tenant_and_its_upstream_key(app: Starlette, upstream: FakeUpstream) -> None:
    acme = key_for(app, "acme")

    with pytest.raises(openai.AuthenticationError):
        await ask(app, "hello")  # once a key exists, a request needs one
    with pytest.raises(openai.AuthenticationError):
        await ask(app, "hello", key="vk-0123456789abcdef-" + "A" * 43)
    await ask(app, "hello", key=acme)

    assert len(upstream.raw_headers) == 1
    assert b"authorization: Bearer sk-acme-upstream" in upstream.raw_headers[0]
    assert acme.encode() not in upstream.seen()


async def test_a_token_of_one_tenant_restores_nothing_for_another(
    app: Starlette, upstream: FakeUpstream
) -> None:
    acme, globex = key_for(app, "acme"), key_for(app, "globex")
    await ask(app, "mail bo@corp.example please", key=globex, user="same-user")
    (token,) = re.findall(r"<EMAIL_ADDRESS_\d+>", upstream.bodies[0]["messages"][0]["content"])

    upstream.reply = lambda body: Script(contents=[f"Writing to {token}."])
    for_acme = await ask(app, "go", key=acme, user="same-user")
    for_globex = await ask(app, "go", key=globex, user="same-user")

    assert for_acme.parse().choices[0].message.content == f"Writing to {token}."
    assert for_globex.parse().choices[0].message.content == "Writing to bo@corp.example."


async def test_provider_controls_drop_the_subject_and_force_store_false(
    make_app: Callable[..., Starlette], app: Starlette, upstream: FakeUpstream
) -> None:
    globex = key_for(app, "globex")
    app.state.consents.set(
        app.state.scopes.subject_scope("u9", "globex"), "provider_retention", True, source="admin"
    )

    await ask(app, "hi", key=globex, user="u9", store=True, metadata={"team": "a"})

    sent = upstream.bodies[0]
    assert "user" not in sent and sent["store"] is False and "metadata" not in sent


async def test_response_scanning_off_lets_a_new_value_through(app: Starlette, upstream: FakeUpstream) -> None:
    upstream.reply = lambda body: Script(contents=["Contact stranger@elsewhere.example"])

    default = await ask(app, "who?")
    globex = key_for(app, "globex")
    scanned_off = await ask(app, "who?", key=globex)

    assert default.parse().choices[0].message.content == "Contact [REDACTED_EMAIL_ADDRESS]"
    assert scanned_off.parse().choices[0].message.content == "Contact stranger@elsewhere.example"


async def test_a_policy_change_applies_from_the_next_request_never_mid_request(
    app: Starlette, upstream: FakeUpstream, policy_file: Path
) -> None:
    old_version = app.state.policies.current().version

    def change_policy_mid_request(body: dict[str, Any]) -> Script:
        policy_file.write_text(POLICY.replace('CREDIT_CARD = "mask"', 'CREDIT_CARD = "redact"'))
        assert app.state.policies.current().version != old_version  # reloaded now
        return Script(contents=["done"])

    upstream.reply = change_policy_mid_request
    in_flight = await ask(app, f"charge {CARD}")
    upstream.reply = lambda body: Script(contents=["done"])
    after = await ask(app, f"charge {CARD}")

    assert in_flight.headers["x-veil-policy-version"] == old_version
    assert upstream.bodies[0]["messages"][0]["content"] == "charge **** **** **** 1111"
    assert after.headers["x-veil-policy-version"] != old_version
    assert upstream.bodies[1]["messages"][0]["content"] == "charge [REDACTED_CREDIT_CARD]"
