"""What only the SQLite vault does: persistence, sealing at rest, the cache, threads."""

from __future__ import annotations

import secrets
import sqlite3
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_clock import FakeClock
from veil.store.cipher import Cipher, CipherError, length_prefixed
from veil.store.sqlite_vault import SCHEMA_VERSION, SQLiteVault, VaultFileError

TTL = 3600.0
SCOPE = "scope-a"
EMAIL = "EMAIL_ADDRESS"


@pytest.fixture
def master_key() -> bytes:
    return secrets.token_bytes(32)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "vault.db"


@pytest.fixture
def vault(path: Path, master_key: bytes, clock: FakeClock) -> Iterator[SQLiteVault]:
    with SQLiteVault(path, Cipher(master_key), ttl_seconds=TTL, clock=clock) as opened:
        yield opened


def reopen(path: Path, master_key: bytes, clock: FakeClock) -> SQLiteVault:
    return SQLiteVault(path, Cipher(master_key), ttl_seconds=TTL, clock=clock)


def raw_rows(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def test_tokens_survive_reopening_the_file_with_the_same_key(
    vault: SQLiteVault, path: Path, master_key: bytes, clock: FakeClock
) -> None:
    tokens = vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org"), ("PERSON", "Ana Lima")])
    vault.close()

    with reopen(path, master_key, clock) as again:
        assert again.tokens_for(SCOPE, [("PERSON", "Ana Lima"), (EMAIL, "ana@x.org")]) == tokens[::-1]
        assert again.value_for(SCOPE, "<EMAIL_ADDRESS_1>") == "ana@x.org"
        assert again.token_of(SCOPE, "Ana Lima") == "<PERSON_1>"
        assert again.tokens_for(SCOPE, [(EMAIL, "bo@x.org")]) == ["<EMAIL_ADDRESS_2>"]


def test_ordinals_are_not_reused_after_a_purge_and_a_reopen(
    vault: SQLiteVault, path: Path, master_key: bytes, clock: FakeClock
) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org"), (EMAIL, "bo@x.org")])
    clock.advance(TTL + 1)
    assert vault.purge_expired() == 2
    vault.close()

    with reopen(path, master_key, clock) as again:
        assert again.tokens_for(SCOPE, [(EMAIL, "cy@x.org")]) == ["<EMAIL_ADDRESS_3>"]
    assert raw_rows(path, "SELECT count(*) FROM vault_entries") == [(1,)]


def test_a_file_written_under_another_master_key_is_refused_on_open(
    vault: SQLiteVault, path: Path, clock: FakeClock
) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])
    vault.close()

    with pytest.raises(VaultFileError, match="different master key"):
        reopen(path, secrets.token_bytes(32), clock)


def test_values_in_the_file_open_only_under_their_key(
    vault: SQLiteVault, path: Path, master_key: bytes
) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])
    ((sealed, token),) = raw_rows(path, "SELECT value_ct, token FROM vault_entries")
    assert isinstance(sealed, bytes)
    assert isinstance(token, str)
    aad = length_prefixed(SCOPE, token)

    assert Cipher(master_key).open(sealed, aad) == "ana@x.org"
    with pytest.raises(CipherError):
        Cipher(secrets.token_bytes(32)).open(sealed, aad)


def test_rows_swapped_on_disk_do_not_restore(
    vault: SQLiteVault, path: Path, master_key: bytes, clock: FakeClock
) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org"), (EMAIL, "bo@x.org")])
    vault.close()
    conn = sqlite3.connect(path)
    (first,), (second,) = conn.execute("SELECT value_ct FROM vault_entries ORDER BY ordinal").fetchall()
    conn.execute("UPDATE vault_entries SET value_ct = ? WHERE ordinal = 1", (second,))
    conn.execute("UPDATE vault_entries SET value_ct = ? WHERE ordinal = 2", (first,))
    conn.commit()
    conn.close()

    with reopen(path, master_key, clock) as again:
        with pytest.raises(CipherError) as caught:
            again.value_for(SCOPE, "<EMAIL_ADDRESS_1>")
        assert "@x.org" not in str(caught.value)


def test_a_row_moved_to_another_scope_does_not_restore(
    vault: SQLiteVault, path: Path, master_key: bytes, clock: FakeClock
) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])
    vault.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE vault_entries SET scope = 'scope-b'")
    conn.commit()
    conn.close()

    with reopen(path, master_key, clock) as again, pytest.raises(CipherError):
        again.value_for("scope-b", "<EMAIL_ADDRESS_1>")


def test_no_value_reaches_the_database_or_its_wal_in_clear(vault: SQLiteVault, path: Path) -> None:
    canaries = [f"canary-{secrets.token_hex(8)}@example.com" for _ in range(20)]
    unicode_canary = f"Zoë-{secrets.token_hex(6)}-名前"
    for start in range(0, 20, 4):
        vault.tokens_for(SCOPE, [(EMAIL, value) for value in canaries[start : start + 4]])
    vault.tokens_for(SCOPE, [("PERSON", unicode_canary)])
    needles = [value.encode() for value in [*canaries, unicode_canary]]
    needles += [value.encode("utf-16-le") for value in canaries[:3]]
    wal = path.with_name(path.name + "-wal")

    before_checkpoint = path.read_bytes() + wal.read_bytes()
    # The files do hold this data: the tokens are stored in clear beside the ciphertext.
    assert b"<EMAIL_ADDRESS_20>" in wal.read_bytes()
    assert not [needle for needle in needles if needle in before_checkpoint]

    vault.close()
    after_checkpoint = b"".join(p.read_bytes() for p in path.parent.iterdir())
    assert b"<EMAIL_ADDRESS_20>" in path.read_bytes()
    assert not [needle for needle in needles if needle in after_checkpoint]


def test_the_database_file_is_private(vault: SQLiteVault, path: Path) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_name(path.name + "-wal").stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_the_schema_is_versioned_and_enforces_one_token_per_value(vault: SQLiteVault, path: Path) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])
    assert raw_rows(path, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    assert raw_rows(path, "PRAGMA journal_mode") == [("wal",)]
    ((value_index,),) = raw_rows(path, "SELECT value_index FROM vault_entries")
    conn = sqlite3.connect(path)
    insert = "INSERT INTO vault_entries VALUES (?, ?, ?, x'00', 'EMAIL_ADDRESS', 9, 0, 0)"

    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (SCOPE, "<EMAIL_ADDRESS_9>", value_index))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (SCOPE, "<EMAIL_ADDRESS_1>", b"another index"))
    conn.close()


def test_a_newer_schema_is_refused(
    vault: SQLiteVault, path: Path, master_key: bytes, clock: FakeClock
) -> None:
    vault.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE schema_version SET version = 2")
    conn.commit()
    conn.close()

    with pytest.raises(VaultFileError, match="schema version 2"):
        reopen(path, master_key, clock)


def test_the_cache_never_serves_an_expired_mapping(vault: SQLiteVault, clock: FakeClock) -> None:
    (token,) = vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])
    assert vault.value_for(SCOPE, token) == "ana@x.org"

    clock.advance(TTL + 1)

    assert vault.value_for(SCOPE, token) is None
    assert vault.token_of(SCOPE, "ana@x.org") is None


def test_use_in_one_process_keeps_the_mapping_alive_for_another(
    vault: SQLiteVault, path: Path, master_key: bytes, clock: FakeClock
) -> None:
    (token,) = vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])
    with reopen(path, master_key, clock) as other:
        clock.advance(TTL / 2)
        assert other.value_for(SCOPE, token) == "ana@x.org"
        clock.advance(TTL * 0.75)

        assert vault.value_for(SCOPE, token) == "ana@x.org"
        assert vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")]) == [token]


def test_a_mapping_minted_elsewhere_is_found(
    vault: SQLiteVault, path: Path, master_key: bytes, clock: FakeClock
) -> None:
    assert vault.token_of(SCOPE, "ana@x.org") is None
    with reopen(path, master_key, clock) as other:
        (token,) = other.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])

    assert vault.token_of(SCOPE, "ana@x.org") == token
    assert vault.value_for(SCOPE, token) == "ana@x.org"
    assert vault.tokens_for(SCOPE, [(EMAIL, "bo@x.org")]) == ["<EMAIL_ADDRESS_2>"]


def test_expiry_is_written_at_most_once_per_refresh_interval(
    vault: SQLiteVault, path: Path, clock: FakeClock
) -> None:
    (token,) = vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])
    minted_at = clock.now

    clock.advance(30)
    vault.value_for(SCOPE, token)
    vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org")])
    assert raw_rows(path, "SELECT expires_at FROM vault_entries") == [(minted_at + TTL,)]

    clock.advance(31)
    vault.value_for(SCOPE, token)
    assert raw_rows(path, "SELECT expires_at FROM vault_entries") == [(clock.now + TTL,)]


class FailingCipher(Cipher):
    def seal(self, plaintext: str, aad: bytes) -> bytes:
        if plaintext == "poison":
            raise RuntimeError("disk trouble")
        return super().seal(plaintext, aad)


def test_a_request_that_fails_midway_leaves_no_trace(path: Path, master_key: bytes, clock: FakeClock) -> None:
    with SQLiteVault(path, FailingCipher(master_key), ttl_seconds=TTL, clock=clock) as vault:
        with pytest.raises(RuntimeError):
            vault.tokens_for(SCOPE, [(EMAIL, "ana@x.org"), (EMAIL, "poison")])

        assert vault.token_of(SCOPE, "ana@x.org") is None
        assert vault.value_for(SCOPE, "<EMAIL_ADDRESS_1>") is None
        assert vault.tokens_for(SCOPE, [(EMAIL, "bo@x.org")]) == ["<EMAIL_ADDRESS_1>"]


def test_threads_sharing_a_vault_agree(vault: SQLiteVault) -> None:
    values = [f"user{i}@x.org" for i in range(120)]
    seen: list[tuple[str, str]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def work(offset: int) -> None:
        start.wait()
        try:
            for i in range(0, 120, 4):
                batch = [values[(offset * 41 + j) % 120] for j in range(i, i + 4)]
                tokens = vault.tokens_for(SCOPE, [(EMAIL, value) for value in batch])
                assert [vault.value_for(SCOPE, token) for token in tokens] == batch
                with lock:
                    seen.extend(zip(batch, tokens, strict=True))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(set(seen)) == 120
    assert len({token for _, token in seen}) == 120
