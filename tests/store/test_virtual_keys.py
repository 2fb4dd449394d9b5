"""Virtual keys: shown once, stored only as a salted hash, mapped to their tenant, revocable."""

from __future__ import annotations

import sqlalchemy as sa

from fake_clock import FakeClock
from veil.store.database import Database
from veil.store.schema import virtual_keys
from veil.store.virtual_keys import CACHE_SECONDS, Known, VirtualKeys


def test_a_new_key_maps_to_its_tenant_and_only_its_hash_is_stored(db: Database) -> None:
    keys = VirtualKeys(db)
    assert not keys.any_exist()

    info, key = keys.create("acme")

    assert keys.any_exist()
    assert keys.tenant_of(key) == "acme"
    secret = key.rsplit("-", 1)[1]
    with db.read() as conn:
        row = conn.execute(sa.select(virtual_keys)).one()
    assert row.key_id == info.key_id and secret not in repr(tuple(row)) and secret.encode() not in row.salt


def test_wrong_forged_and_malformed_keys_map_to_nothing(db: Database) -> None:
    keys = VirtualKeys(db)
    _, key = keys.create("acme")
    key_id = key.split("-")[1]

    assert keys.tenant_of(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert keys.tenant_of(f"vk-{key_id}-" + "x" * 43) is None
    assert keys.tenant_of("sk-not-a-virtual-key") is None
    assert keys.tenant_of("") is None


def test_a_revoked_key_stops_working_here_at_once_and_elsewhere_within_the_cache_time(db: Database) -> None:
    clock = FakeClock()
    here, elsewhere = VirtualKeys(db, clock=clock), VirtualKeys(db, clock=clock)
    info, key = here.create("acme")
    assert elsewhere.tenant_of(key) == "acme"

    assert here.revoke(info.key_id)

    assert here.tenant_of(key) is None
    clock.advance(CACHE_SECONDS + 1)
    assert elsewhere.tenant_of(key) is None
    assert not here.any_exist()
    assert [k.revoked_at is not None for k in here.list()] == [True]


def test_the_cache_answers_without_the_database_only_what_was_read_within_the_cache_time(
    db: Database,
) -> None:
    clock = FakeClock()
    keys = VirtualKeys(db, clock=clock)
    _, key = VirtualKeys(db, clock=clock).create("acme")  # made elsewhere: not in this cache
    unknown = "vk-0123456789abcdef-" + "A" * 43

    assert keys.cached_tenant_of(key) is None and keys.cached_tenant_of(unknown) is None
    assert keys.cached_any_exist() is None
    assert keys.cached_tenant_of("sk-not-a-virtual-key") == Known(None)  # no read needed

    assert (keys.tenant_of(key), keys.tenant_of(unknown), keys.any_exist()) == ("acme", None, True)
    assert keys.cached_tenant_of(key) == Known("acme") and keys.cached_tenant_of(unknown) == Known(None)
    assert keys.cached_any_exist() is True

    clock.advance(CACHE_SECONDS + 1)
    assert keys.cached_tenant_of(key) is None and keys.cached_any_exist() is None
