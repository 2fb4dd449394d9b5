"""Which tenant a request belongs to: virtual keys, 401s, policies and upstream keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from veil.detect.analyzer import Analyzer
from veil.errors import Unauthorized, UpstreamKeyMissing
from veil.policy.holder import PolicyHolder
from veil.policy.loading import parse_policy
from veil.store.database import Database
from veil.store.virtual_keys import VirtualKeys
from veil.tenancy import Tenancies

POLICY = """
[default.actions]
PERSON = "pseudonymize"

[tenants.acme]
upstream_key_env = "ACME_OPENAI_KEY"

[tenants.acme.actions]
PERSON = "surrogate"
"""


@pytest.fixture
def keys(tmp_path: Path) -> Iterator[VirtualKeys]:
    db = Database(f"sqlite:///{tmp_path / 'veil.db'}")
    db.migrate()
    yield VirtualKeys(db)
    db.dispose()


def tenancies(
    keys: VirtualKeys, *, require_keys: bool = False, environ: dict[str, str] | None = None
) -> Tenancies:
    return Tenancies(
        keys,
        PolicyHolder(parse_policy(POLICY)),
        lambda policy: Analyzer([]),
        upstream_key="sk-org-key",
        require_keys=require_keys,
        environ=environ if environ is not None else {"ACME_OPENAI_KEY": "sk-acme"},
    )


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


async def test_without_keys_every_request_is_the_default_tenant(keys: VirtualKeys) -> None:
    tenancy = await tenancies(keys).resolve(bearer("sk-client"))

    assert (tenancy.tenant, tenancy.upstream_key) == ("default", "sk-org-key")
    assert tenancy.policy.action_for("PERSON") == "pseudonymize"


async def test_once_a_key_exists_a_request_without_one_is_refused(keys: VirtualKeys) -> None:
    keys.create("acme")

    with pytest.raises(Unauthorized) as refused:
        await tenancies(keys).resolve(bearer("sk-client"))
    assert refused.value.status_code == 401
    with pytest.raises(Unauthorized):
        await tenancies(keys).resolve({})


async def test_require_keys_refuses_before_any_key_exists(keys: VirtualKeys) -> None:
    with pytest.raises(Unauthorized):
        await tenancies(keys, require_keys=True).resolve(bearer("sk-client"))


async def test_a_virtual_key_selects_its_tenant_policy_and_upstream_key(keys: VirtualKeys) -> None:
    _, key = keys.create("acme")

    tenancy = await tenancies(keys).resolve(bearer(key))

    assert (tenancy.tenant, tenancy.upstream_key) == ("acme", "sk-acme")
    assert tenancy.policy.action_for("PERSON") == "surrogate"


async def test_a_revoked_or_made_up_key_is_refused(keys: VirtualKeys) -> None:
    info, key = keys.create("acme")
    keys.revoke(info.key_id)

    for presented in (key, "vk-0123456789abcdef-" + "A" * 43):
        with pytest.raises(Unauthorized):
            await tenancies(keys).resolve(bearer(presented))


async def test_a_tenant_whose_upstream_key_is_missing_is_not_forwarded(keys: VirtualKeys) -> None:
    _, key = keys.create("acme")

    with pytest.raises(UpstreamKeyMissing) as missing:
        await tenancies(keys, environ={}).resolve(bearer(key))
    assert missing.value.status_code == 503 and "acme" in str(missing.value)
