"""Master key rotation: every wrapped key moves to the new master key; data stays readable."""

from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa

from veil.store.database import Database
from veil.store.keys import EnvKeyProvider
from veil.store.master_key import encode_master_key
from veil.store.rotation import pending, rewrap_all
from veil.store.schema import subject_keys, vault_entries
from veil.store.subject_keys import SCOPE_SECRET, SubjectKeys
from veil.store.vault import DatabaseVault

SUBJECTS = [f"subject:{n}" for n in range(12)]


def fill(db: Database, keys: SubjectKeys) -> dict[str, str]:
    """One mapping per subject; returns token by subject."""
    vault = DatabaseVault(db, keys, ttl_seconds=3600)
    return {s: vault.tokens_for(s, [("EMAIL_ADDRESS", f"{s}@example.com")])[0] for s in SUBJECTS}


def key_ids(db: Database) -> set[str]:
    with db.read() as conn:
        return set(conn.execute(sa.select(subject_keys.c.master_key_id)).scalars())


def test_rotation_rewraps_every_key_and_data_stays_readable(db: Database, master_key_text: str) -> None:
    old_keys = SubjectKeys(db, EnvKeyProvider(master_key_text))
    secret = old_keys.installation_secret(SCOPE_SECRET)
    tokens = fill(db, old_keys)
    with db.read() as conn:
        sealed_before = set(conn.execute(sa.select(vault_entries.c.value_ct)).scalars())
    new_text = encode_master_key(secrets.token_bytes(32))
    both = EnvKeyProvider(new_text, master_key_text)

    report = rewrap_all(db, both, batch=5)

    assert (report.rewrapped, report.remaining) == (len(SUBJECTS) + 1, 0)
    assert key_ids(db) == {both.active().key_id}
    # Only the new key is needed now, and the data itself was not re-encrypted.
    only_new = SubjectKeys(db, EnvKeyProvider(new_text))
    assert only_new.installation_secret(SCOPE_SECRET) == secret
    vault = DatabaseVault(db, only_new, ttl_seconds=3600)
    assert {s: vault.value_for(s, t) for s, t in tokens.items()} == {s: f"{s}@example.com" for s in SUBJECTS}
    with db.read() as conn:
        assert set(conn.execute(sa.select(vault_entries.c.value_ct)).scalars()) == sealed_before


def test_an_interrupted_rotation_finishes_when_run_again(db: Database, master_key_text: str) -> None:
    tokens = fill(db, SubjectKeys(db, EnvKeyProvider(master_key_text)))
    new_text = encode_master_key(secrets.token_bytes(32))
    both = EnvKeyProvider(new_text, master_key_text)

    first = rewrap_all(db, both, batch=4, stop_after=5)
    assert first.rewrapped == 5 and first.remaining == pending(db, both) == len(SUBJECTS) - 5
    # Meanwhile the server keeps serving, under both keys.
    serving = DatabaseVault(db, SubjectKeys(db, both), ttl_seconds=3600)
    assert all(serving.value_for(s, t) == f"{s}@example.com" for s, t in tokens.items())

    second = rewrap_all(db, both)
    assert (second.rewrapped, second.remaining) == (len(SUBJECTS) - 5, 0)
    assert rewrap_all(db, both).rewrapped == 0
    vault = DatabaseVault(db, SubjectKeys(db, EnvKeyProvider(new_text)), ttl_seconds=3600)
    assert all(vault.value_for(s, t) == f"{s}@example.com" for s, t in tokens.items())


def test_rotation_without_the_old_key_stops_and_loses_nothing(db: Database, master_key_text: str) -> None:
    fill(db, SubjectKeys(db, EnvKeyProvider(master_key_text)))
    only_new = EnvKeyProvider(encode_master_key(secrets.token_bytes(32)))

    with pytest.raises(Exception) as raised:
        rewrap_all(db, only_new)

    assert "does not hold" in str(raised.value)
    assert key_ids(db) == {EnvKeyProvider(master_key_text).active().key_id}
