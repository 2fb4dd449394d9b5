"""What only the in-memory vault does: bounded size, lazy expiry, threads."""

from __future__ import annotations

import threading

import pytest

from fake_clock import FakeClock
from veil.pseudonymize.memory_vault import MemoryVault

TTL = 60.0
SCOPE = "scope-a"
EMAIL = "EMAIL_ADDRESS"


def test_beyond_max_entries_the_least_recently_used_mapping_is_evicted() -> None:
    vault = MemoryVault(TTL, max_entries=2, clock=FakeClock())
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org"), (EMAIL, "bo@x.org")])
    assert vault.value_for(SCOPE, "<EMAIL_ADDRESS_1>") == "ana@x.org"

    assert vault.tokens_for(SCOPE, [(EMAIL, "cy@x.org")]) == ["<EMAIL_ADDRESS_3>"]

    assert len(vault) == 2
    assert vault.value_for(SCOPE, "<EMAIL_ADDRESS_2>") is None
    assert vault.value_for(SCOPE, "<EMAIL_ADDRESS_1>") == "ana@x.org"
    # An evicted value comes back as a new mapping; its old ordinal is not handed out again.
    assert vault.tokens_for(SCOPE, [(EMAIL, "bo@x.org")]) == ["<EMAIL_ADDRESS_4>"]


def test_the_bound_holds_across_scopes() -> None:
    vault = MemoryVault(TTL, max_entries=10, clock=FakeClock())

    for scope in range(50):
        vault.tokens_for(f"scope-{scope}", [(EMAIL, "ana@x.org"), (EMAIL, "bo@x.org")])

    assert len(vault) == 10
    assert vault.value_for("scope-49", "<EMAIL_ADDRESS_2>") == "bo@x.org"
    assert vault.value_for("scope-0", "<EMAIL_ADDRESS_1>") is None


def test_expired_mappings_are_dropped_by_the_next_call() -> None:
    clock = FakeClock()
    vault = MemoryVault(TTL, clock=clock)
    vault.tokens_for(SCOPE, [(EMAIL, f"user{i}@x.org") for i in range(100)])
    clock.advance(TTL / 2)
    vault.tokens_for(SCOPE, [(EMAIL, "user0@x.org")])
    clock.advance(TTL / 2 + 1)

    vault.tokens_for("another-scope", [(EMAIL, "ana@x.org")])

    assert len(vault) == 2
    assert vault.value_for(SCOPE, "<EMAIL_ADDRESS_1>") == "user0@x.org"


@pytest.mark.parametrize(("ttl_seconds", "max_entries"), [(0.0, 10), (-1.0, 10), (60.0, 0)])
def test_nonsense_limits_are_refused(ttl_seconds: float, max_entries: int) -> None:
    with pytest.raises(ValueError):
        MemoryVault(ttl_seconds, max_entries=max_entries)


def test_threads_minting_in_one_scope_agree() -> None:
    vault = MemoryVault(TTL)
    values = [f"user{i}@x.org" for i in range(200)]
    seen: list[tuple[str, str]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def work(offset: int) -> None:
        start.wait()
        for i in range(0, 200, 5):
            batch = [values[(offset * 37 + j) % 200] for j in range(i, i + 5)]
            tokens = vault.tokens_for(SCOPE, [(EMAIL, value) for value in batch])
            with lock:
                seen.extend(zip(batch, tokens, strict=True))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    token_by_value: dict[str, set[str]] = {}
    for value, token in seen:
        token_by_value.setdefault(value, set()).add(token)
    assert all(len(tokens) == 1 for tokens in token_by_value.values())
    assert len({token for tokens in token_by_value.values() for token in tokens}) == 200
    assert {vault.value_for(SCOPE, f"<EMAIL_ADDRESS_{n}>") for n in range(1, 201)} == set(values)
