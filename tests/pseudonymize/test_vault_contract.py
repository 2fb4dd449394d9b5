"""Behaviour every Vault shares, run against each implementation."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from databases import BACKENDS, database_url
from fake_clock import FakeClock
from veil.pseudonymize.memory_vault import MemoryVault
from veil.pseudonymize.vault import Vault
from veil.store.database import Database
from veil.store.keys import EnvKeyProvider
from veil.store.master_key import encode_master_key
from veil.store.subject_keys import SubjectKeys
from veil.store.vault import DatabaseVault

TTL = 600.0
SCOPE = "scope-a"
EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"


class ExpiringVault(Vault, Protocol):
    def purge_expired(self) -> int: ...


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", *BACKENDS])
def vault(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[ExpiringVault]:
    if request.param == "memory":
        yield MemoryVault(TTL, clock=clock)
        return
    with database_url(request.param, tmp_path) as url:
        db = Database(url)
        db.migrate()
        keys = SubjectKeys(db, EnvKeyProvider(encode_master_key(secrets.token_bytes(32))))
        yield DatabaseVault(db, keys, ttl_seconds=TTL, clock=clock)
        db.dispose()


def test_same_value_gets_the_same_token_on_every_call(vault: ExpiringVault) -> None:
    first = vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")])
    second = vault.tokens_for(SCOPE, [(EMAIL, "bo@example.com"), (EMAIL, "ana@example.com")])

    assert first == ["<EMAIL_ADDRESS_1>"]
    assert second == ["<EMAIL_ADDRESS_2>", "<EMAIL_ADDRESS_1>"]


def test_a_value_repeated_in_one_request_gets_one_token(vault: ExpiringVault) -> None:
    tokens = vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com"), (EMAIL, "ana@example.com")])

    assert tokens == ["<EMAIL_ADDRESS_1>", "<EMAIL_ADDRESS_1>"]
    assert vault.tokens_for(SCOPE, [(EMAIL, "bo@example.com")]) == ["<EMAIL_ADDRESS_2>"]


def test_distinct_values_never_share_a_token(vault: ExpiringVault) -> None:
    items = [(EMAIL if i % 3 else PHONE, f"value-{i}") for i in range(60)]

    tokens = [
        token for chunk in range(0, 60, 7) for token in vault.tokens_for(SCOPE, items[chunk : chunk + 7])
    ]

    assert len(set(tokens)) == 60
    assert [vault.value_for(SCOPE, token) for token in tokens] == [value for _, value in items]


def test_ordinals_count_per_entity_type(vault: ExpiringVault) -> None:
    tokens = vault.tokens_for(
        SCOPE, [(EMAIL, "ana@example.com"), (PHONE, "+44 20 7946 0018"), (EMAIL, "bo@x.org")]
    )

    assert tokens == ["<EMAIL_ADDRESS_1>", "<PHONE_NUMBER_1>", "<EMAIL_ADDRESS_2>"]


def test_scopes_are_independent(vault: ExpiringVault) -> None:
    (in_a,) = vault.tokens_for("scope-a", [(EMAIL, "ana@example.com")])
    (in_b,) = vault.tokens_for("scope-b", [(EMAIL, "bo@example.com")])

    assert in_a == in_b == "<EMAIL_ADDRESS_1>"
    assert vault.value_for("scope-a", in_a) == "ana@example.com"
    assert vault.value_for("scope-b", in_b) == "bo@example.com"
    assert vault.token_of("scope-b", "ana@example.com") is None
    assert vault.value_for("scope-c", in_a) is None


def test_lookups_never_mint(vault: ExpiringVault) -> None:
    assert vault.token_of(SCOPE, "ana@example.com") is None
    assert vault.value_for(SCOPE, "<EMAIL_ADDRESS_1>") is None

    assert vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")]) == ["<EMAIL_ADDRESS_1>"]
    assert vault.token_of(SCOPE, "ana@example.com") == "<EMAIL_ADDRESS_1>"


def test_a_value_keeps_the_token_of_its_first_entity_type(vault: ExpiringVault) -> None:
    vault.tokens_for(SCOPE, [(PHONE, "12345678")])

    assert vault.tokens_for(SCOPE, [("US_BANK_NUMBER", "12345678")]) == ["<PHONE_NUMBER_1>"]


@pytest.mark.parametrize("token", ["<EMAIL_ADDRESS_2>", "<email_address_1>", "EMAIL_ADDRESS_1", ""])
def test_tokens_not_minted_here_restore_to_nothing(vault: ExpiringVault, token: str) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")])

    assert vault.value_for(SCOPE, token) is None


@pytest.mark.parametrize(
    "value",
    ["Zoë Müller-Łukasiewicz", "名前 太郎", "emoji 🙂 inside", "x" * 10_000, "quote ' \" and ; -- sql"],
)
def test_values_round_trip_exactly(vault: ExpiringVault, value: str) -> None:
    (token,) = vault.tokens_for(SCOPE, [("PERSON", value)])

    assert vault.value_for(SCOPE, token) == value
    assert vault.token_of(SCOPE, value) == token


def test_an_empty_request_mints_nothing(vault: ExpiringVault) -> None:
    assert vault.tokens_for(SCOPE, []) == []
    assert vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")]) == ["<EMAIL_ADDRESS_1>"]


def test_a_mapping_expires_ttl_after_its_last_use(vault: ExpiringVault, clock: FakeClock) -> None:
    (token,) = vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")])

    clock.advance(TTL - 1)
    assert vault.value_for(SCOPE, token) == "ana@example.com"
    clock.advance(TTL + 1)

    assert vault.value_for(SCOPE, token) is None
    assert vault.token_of(SCOPE, "ana@example.com") is None


@pytest.mark.parametrize("use", ["tokens_for", "value_for", "token_of"])
def test_every_kind_of_use_keeps_a_mapping_alive(vault: ExpiringVault, clock: FakeClock, use: str) -> None:
    (token,) = vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")])

    for _ in range(4):
        clock.advance(TTL / 2)
        if use == "tokens_for":
            assert vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")]) == [token]
        elif use == "value_for":
            assert vault.value_for(SCOPE, token) == "ana@example.com"
        else:
            assert vault.token_of(SCOPE, "ana@example.com") == token

    assert clock.now > 1_700_000_000.0 + TTL
    clock.advance(TTL + 1)
    assert vault.value_for(SCOPE, token) is None


def test_ordinals_are_not_reused_after_expiry_and_purge(vault: ExpiringVault, clock: FakeClock) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com"), (PHONE, "+1 555 0100")])
    clock.advance(TTL + 1)

    assert vault.purge_expired() == 2
    assert vault.tokens_for(SCOPE, [(EMAIL, "bo@example.com")]) == ["<EMAIL_ADDRESS_2>"]
    # A value seen again after expiry is a new mapping: its old token stays dead.
    assert vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")]) == ["<EMAIL_ADDRESS_3>"]
    assert vault.value_for(SCOPE, "<EMAIL_ADDRESS_1>") is None


def test_ordinals_are_not_reused_after_expiry_without_purge(vault: ExpiringVault, clock: FakeClock) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")])
    clock.advance(TTL + 1)

    assert vault.tokens_for(SCOPE, [(EMAIL, "bo@example.com"), (EMAIL, "ana@example.com")]) == [
        "<EMAIL_ADDRESS_2>",
        "<EMAIL_ADDRESS_3>",
    ]
    assert vault.value_for(SCOPE, "<EMAIL_ADDRESS_1>") is None


def test_purge_removes_only_expired_mappings(vault: ExpiringVault, clock: FakeClock) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "old@example.com")])
    clock.advance(TTL / 2)
    (fresh,) = vault.tokens_for(SCOPE, [(EMAIL, "new@example.com")])
    clock.advance(TTL / 2 + 1)

    assert vault.purge_expired() == 1
    assert vault.purge_expired() == 0
    assert vault.value_for(SCOPE, fresh) == "new@example.com"
