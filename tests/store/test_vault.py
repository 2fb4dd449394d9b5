"""DatabaseVault's own guarantees, on SQLite and PostgreSQL: a request's values resolved in a
fixed number of statements, sealed per row, under the subject's lock, never colliding."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from fake_clock import FakeClock
from veil.pseudonymize.surrogates import Surrogates
from veil.store.cipher import CipherError
from veil.store.database import Database, StoreError
from veil.store.keys import EnvKeyProvider
from veil.store.schema import vault_counters, vault_entries
from veil.store.subject_keys import SubjectKeys
from veil.store.vault import DatabaseVault, row_aad

SCOPE = "subject:ana"
EMAIL = "EMAIL_ADDRESS"
PHONE = "PHONE_NUMBER"
CARD = "CREDIT_CARD"
TTL = 3600.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def vault(db: Database, keys: SubjectKeys, clock: FakeClock) -> DatabaseVault:
    return DatabaseVault(db, keys, ttl_seconds=TTL, clock=clock)


def _another_process(db: Database, master_key_text: str, clock: FakeClock) -> DatabaseVault:
    """A vault with its own memory and key cache, as another replica has."""
    return DatabaseVault(db, SubjectKeys(db, EnvKeyProvider(master_key_text)), ttl_seconds=TTL, clock=clock)


def _values(count: int, first: int = 0) -> list[tuple[str, str]]:
    kinds = (EMAIL, PHONE, CARD)
    return [(kinds[i % 3], f"value-{i}") for i in range(first, first + count)]


class _Statements:
    """The statements an engine runs, one entry per cursor call (an executemany is one)."""

    def __init__(self, db: Database) -> None:
        self.seen: list[str] = []
        sa.event.listen(db.engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith("BEGIN"):
            self.seen.append(statement.split()[0])


@pytest.fixture
def statements(db: Database) -> Iterator[_Statements]:
    counter = _Statements(db)
    yield counter
    sa.event.remove(db.engine, "before_cursor_execute", counter._record)


@pytest.mark.parametrize("count", [1, 6, 40])
def test_minting_a_request_takes_the_same_statements_however_many_values(
    vault: DatabaseVault, statements: _Statements, count: int
) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "warm@example.com")])  # the subject's key exists
    statements.seen.clear()

    tokens = vault.tokens_for(SCOPE, _values(count))

    assert len(set(tokens)) == count
    # The key row (locked), the look-up of every value, the counters, the new rows.
    assert statements.seen == ["SELECT", "SELECT", "INSERT", "INSERT"]


def test_values_already_minted_are_found_in_one_query_by_another_process(
    db: Database, vault: DatabaseVault, master_key_text: str, clock: FakeClock, statements: _Statements
) -> None:
    first = vault.tokens_for(SCOPE, _values(6))
    other = _another_process(db, master_key_text, clock)
    statements.seen.clear()

    again = other.tokens_for(SCOPE, _values(6))

    assert again == first
    assert statements.seen == ["SELECT", "SELECT"]


def test_known_and_new_values_in_one_request(
    db: Database, vault: DatabaseVault, master_key_text: str, clock: FakeClock
) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com"), (PHONE, "+1 555 0100")])
    other = _another_process(db, master_key_text, clock)

    tokens = other.tokens_for(
        SCOPE,
        [(EMAIL, "bo@example.com"), (PHONE, "+1 555 0100"), (EMAIL, "ana@example.com"), (EMAIL, "cy@x.org")],
    )

    assert tokens == ["<EMAIL_ADDRESS_2>", "<PHONE_NUMBER_1>", "<EMAIL_ADDRESS_1>", "<EMAIL_ADDRESS_3>"]
    with db.read() as conn:
        counters = dict(
            conn.execute(sa.select(vault_counters.c.entity_type, vault_counters.c.last_ordinal)).all()
        )
    assert counters == {EMAIL: 3, PHONE: 1}


def test_a_request_with_more_values_than_one_lookup_holds(
    db: Database, vault: DatabaseVault, master_key_text: str, clock: FakeClock
) -> None:
    items = _values(1_200)

    tokens = vault.tokens_for(SCOPE, items)
    other = _another_process(db, master_key_text, clock)

    assert len(set(tokens)) == 1_200
    assert other.tokens_for(SCOPE, [*items, (EMAIL, "new@example.com")]) == [*tokens, "<EMAIL_ADDRESS_401>"]


def test_each_value_is_sealed_with_the_subjects_key_for_its_own_row(
    db: Database, keys: SubjectKeys, vault: DatabaseVault
) -> None:
    tokens = vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com"), (PHONE, "+1 555 0100")])

    with db.read() as conn:
        rows = {row.token: row.value_ct for row in conn.execute(sa.select(vault_entries))}
        cipher = keys.cipher(conn, SCOPE, create=False)
    assert cipher is not None
    assert sorted(rows) == sorted(tokens)
    assert [cipher.open(rows[token], row_aad(SCOPE, token)) for token in tokens] == [
        "ana@example.com",
        "+1 555 0100",
    ]
    assert all(b"ana@example.com" not in blob for blob in rows.values())
    with pytest.raises(CipherError):
        cipher.open(rows[tokens[0]], row_aad(SCOPE, tokens[1]))
    with pytest.raises(CipherError):
        cipher.open(rows[tokens[0]], row_aad("subject:bo", tokens[0]))


def test_a_mapping_due_for_refresh_is_pushed_later_in_the_database(
    db: Database, vault: DatabaseVault, clock: FakeClock, master_key_text: str
) -> None:
    vault.tokens_for(SCOPE, _values(3))
    clock.advance(TTL / 2)
    # Another process has them in no memory: it finds them and refreshes all three at once.
    other = _another_process(db, master_key_text, clock)

    other.tokens_for(SCOPE, [*_values(3), (EMAIL, "new@example.com")])

    with db.read() as conn:
        expiries = set(conn.execute(sa.select(vault_entries.c.expires_at)).scalars())
    assert expiries == {clock.now + TTL}


class _Colliding:
    """Ordinals 1 and 2 of a type share a surrogate; every later ordinal has its own."""

    def make(self, scope: str, entity_type: str, ordinal: int, value: str) -> str:
        return f"{entity_type.lower()}-{max(ordinal, 2)}"


class _Constant:
    def make(self, scope: str, entity_type: str, ordinal: int, value: str) -> str:
        return "always-the-same"


def test_a_surrogate_taken_within_the_request_gets_the_next_ordinal(vault: DatabaseVault) -> None:
    tokens = vault.tokens_for(SCOPE, [(EMAIL, "a@x.org"), (EMAIL, "b@x.org")], _Colliding())

    assert tokens == ["email_address-2", "email_address-3"]
    assert vault.tokens_for(SCOPE, [(EMAIL, "c@x.org")], _Colliding()) == ["email_address-4"]
    assert [vault.value_for(SCOPE, token) for token in tokens] == ["a@x.org", "b@x.org"]


def test_a_surrogate_taken_in_the_database_is_skipped_and_a_failed_mint_leaves_nothing(
    vault: DatabaseVault, db: Database
) -> None:
    assert vault.tokens_for(SCOPE, [(EMAIL, "a@x.org")], _Constant()) == ["always-the-same"]

    with pytest.raises(RuntimeError, match="no free EMAIL_ADDRESS token"):
        vault.tokens_for(SCOPE, [(EMAIL, "b@x.org"), (PHONE, "+1 555 0100")], _Constant())

    # Rolled back as one: no row for either value, and the counters where they were.
    assert vault.token_of(SCOPE, "+1 555 0100") is None
    assert vault.tokens_for(SCOPE, [(EMAIL, "b@x.org"), (PHONE, "+1 555 0100")]) == [
        "<EMAIL_ADDRESS_2>",
        "<PHONE_NUMBER_1>",
    ]


def test_real_surrogates_are_checked_and_kept(db: Database, vault: DatabaseVault) -> None:
    surrogates = Surrogates(b"s" * 32)
    names = [("PERSON", f"Person Number{i}") for i in range(30)]

    tokens = vault.tokens_for(SCOPE, names, surrogates)

    assert len(set(tokens)) == 30
    assert all(not token.startswith("<") for token in tokens)
    assert [vault.value_for(SCOPE, token) for token in tokens] == [value for _, value in names]


class _TokenShaped:
    """Makes a surrogate spelt like a plain token of another ordinal."""

    def make(self, scope: str, entity_type: str, ordinal: int, value: str) -> str:
        return f"<{entity_type}_{ordinal + 1}>" if ordinal == 1 else f"surrogate-{ordinal}"


def test_a_surrogate_spelt_like_a_token_is_never_given_out(vault: DatabaseVault) -> None:
    (surrogate,) = vault.tokens_for(SCOPE, [(EMAIL, "a@x.org")], _TokenShaped())

    # The plain tokens minted next are not checked: <EMAIL_ADDRESS_2> must still be free.
    plain = vault.tokens_for(SCOPE, [(EMAIL, "b@x.org"), (EMAIL, "c@x.org")])

    assert surrogate == "surrogate-2"
    assert plain == ["<EMAIL_ADDRESS_3>", "<EMAIL_ADDRESS_4>"]


def test_minting_waits_for_the_subjects_key_row_held_by_another_replica(
    db_url: str, db: Database, master_key_text: str, vault: DatabaseVault, clock: FakeClock
) -> None:
    vault.tokens_for(SCOPE, [(EMAIL, "ana@example.com")])
    vault.tokens_for("subject:bo", [(EMAIL, "bo@example.com")])
    replica = Database(db_url, busy_timeout_ms=300)
    try:
        theirs = _another_process(replica, master_key_text, clock)
        held, release = threading.Event(), threading.Event()

        def hold() -> None:
            with db.write() as conn:
                SubjectKeys(db, EnvKeyProvider(master_key_text)).cipher(conn, SCOPE, create=True, lock=True)
                held.set()
                release.wait(10)

        holder = threading.Thread(target=hold)
        holder.start()
        try:
            assert held.wait(10)
            with pytest.raises(StoreError):
                theirs.tokens_for(SCOPE, [(EMAIL, "cy@example.com")])
            if db.dialect == "postgresql":
                # A row lock: other subjects mint meanwhile.
                assert theirs.tokens_for("subject:bo", [(EMAIL, "dee@example.com")]) == ["<EMAIL_ADDRESS_2>"]
        finally:
            release.set()
            holder.join(10)

        assert theirs.tokens_for(SCOPE, [(EMAIL, "cy@example.com")]) == ["<EMAIL_ADDRESS_2>"]
    finally:
        replica.dispose()
