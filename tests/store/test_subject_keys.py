"""Per-subject data keys: created once, wrapped by the master key, bound to their subject."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from fake_clock import FakeClock
from veil.store.cipher import CipherError
from veil.store.database import Database
from veil.store.keys import EnvKeyProvider
from veil.store.master_key import encode_master_key
from veil.store.schema import installation_secrets, subject_keys
from veil.store.subject_keys import SubjectKeys


def test_a_subject_gets_one_key_and_others_get_their_own(db: Database, keys: SubjectKeys) -> None:
    with db.write() as conn:
        ana = keys.cipher(conn, "subject:ana", create=True)
        bo = keys.cipher(conn, "subject:bo", create=True)
    assert ana is not None and bo is not None
    sealed = ana.seal("ana@example.com", b"row")

    with db.read() as conn:
        again = keys.cipher(conn, "subject:ana", create=True)
    assert again is not None
    assert again.open(sealed, b"row") == "ana@example.com"
    with pytest.raises(CipherError):
        bo.open(sealed, b"row")
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(subject_keys)).scalar_one() == 2


def test_without_create_an_unknown_subject_has_no_key(db: Database, keys: SubjectKeys) -> None:
    with db.read() as conn:
        assert keys.cipher(conn, "subject:nobody", create=False) is None


def test_another_process_reads_the_same_key(db: Database, master_key_text: str) -> None:
    mine, theirs = (SubjectKeys(db, EnvKeyProvider(master_key_text)) for _ in range(2))
    with db.write() as conn:
        cipher = mine.cipher(conn, "subject:ana", create=True)
    assert cipher is not None

    with db.write() as conn:
        other = theirs.cipher(conn, "subject:ana", create=True)
    assert other is not None
    assert other.open(cipher.seal("x", b"a"), b"a") == "x"


def test_a_wrapped_key_moved_to_another_subject_does_not_open(db: Database, master_key_text: str) -> None:
    keys = SubjectKeys(db, EnvKeyProvider(master_key_text))
    with db.write() as conn:
        keys.cipher(conn, "subject:ana", create=True)
        keys.cipher(conn, "subject:bo", create=True)
        ana_wrapped = conn.execute(
            sa.select(subject_keys.c.wrapped).where(subject_keys.c.subject == "subject:ana")
        ).scalar_one()
        conn.execute(
            sa.update(subject_keys).where(subject_keys.c.subject == "subject:bo").values(wrapped=ana_wrapped)
        )

    fresh = SubjectKeys(db, EnvKeyProvider(master_key_text))
    with db.read() as conn, pytest.raises(CipherError):
        fresh.cipher(conn, "subject:bo", create=False)


def test_a_key_erased_elsewhere_is_gone_here_after_the_cache_age(db: Database, master_key_text: str) -> None:
    clock = FakeClock()
    keys = SubjectKeys(db, EnvKeyProvider(master_key_text), max_age_seconds=60, clock=clock)
    with db.write() as conn:
        keys.cipher(conn, "subject:ana", create=True)
        conn.execute(sa.delete(subject_keys).where(subject_keys.c.subject == "subject:ana"))

    with db.read() as conn:
        assert keys.cipher(conn, "subject:ana", create=False) is not None  # still cached
    clock.advance(61)
    with db.read() as conn:
        assert keys.cipher(conn, "subject:ana", create=False) is None


def test_the_installation_secret_is_made_once_and_shared(db: Database, master_key_text: str) -> None:
    first = SubjectKeys(db, EnvKeyProvider(master_key_text)).installation_secret("scope-hash-key")
    second = SubjectKeys(db, EnvKeyProvider(master_key_text)).installation_secret("scope-hash-key")

    assert first == second and len(first) == 32
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(installation_secrets)).scalar_one() == 1


def test_another_master_key_cannot_open_the_installation(db: Database, master_key_text: str) -> None:
    SubjectKeys(db, EnvKeyProvider(master_key_text)).installation_secret("scope-hash-key")
    stranger = SubjectKeys(db, EnvKeyProvider(encode_master_key(secrets.token_bytes(32))))

    with pytest.raises(Exception) as raised:
        stranger.installation_secret("scope-hash-key")
    assert "does not hold" in str(raised.value)
