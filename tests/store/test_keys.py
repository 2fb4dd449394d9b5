"""Master keys: ids, the environment and file providers, rotation of the key file."""

from __future__ import annotations

import secrets
import stat
from pathlib import Path

import pytest

from veil.store.keys import EnvKeyProvider, FileKeyProvider, UnknownMasterKeyError, key_id_of
from veil.store.master_key import MasterKeyError, encode_master_key


def test_a_key_id_is_stable_and_says_nothing_of_the_key() -> None:
    material = secrets.token_bytes(32)

    assert key_id_of(material) == key_id_of(bytes(material))
    assert key_id_of(material) != key_id_of(secrets.token_bytes(32))
    assert material.hex()[:16] not in key_id_of(material)


def test_the_environment_gives_the_active_key_and_the_retired_ones() -> None:
    active, old1, old2 = (secrets.token_bytes(32) for _ in range(3))
    provider = EnvKeyProvider(encode_master_key(active), f"{encode_master_key(old1)}, {old2.hex()}")

    assert provider.active().material == active
    assert provider.get(key_id_of(old1)).material == old1
    assert provider.get(key_id_of(old2)).material == old2
    with pytest.raises(UnknownMasterKeyError) as raised:
        provider.get("0123456789abcdef")
    assert "0123456789abcdef" in str(raised.value)


def test_a_malformed_retired_key_is_named_by_position_not_echoed() -> None:
    with pytest.raises(MasterKeyError) as raised:
        EnvKeyProvider(encode_master_key(secrets.token_bytes(32)), "secret-but-not-a-key")

    assert "entry 1" in str(raised.value)
    assert "secret-but-not-a-key" not in str(raised.value)


def test_a_key_never_shows_in_its_repr() -> None:
    provider = EnvKeyProvider(encode_master_key(secrets.token_bytes(32)))
    key = provider.active()

    assert key.material.hex() not in repr(key)
    assert repr(key.material) not in repr(key)


def test_the_key_file_is_created_private_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "data" / "master.key"

    first = FileKeyProvider(key_file).active()
    again = FileKeyProvider(key_file).active()

    assert first == again
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_rotating_the_key_file_keeps_the_old_key_readable(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    provider = FileKeyProvider(key_file)
    old = provider.active()

    new = provider.rotate()

    assert new != old
    assert provider.active() == new
    retired = tmp_path / "retired-keys" / f"{old.key_id}.key"
    assert stat.S_IMODE(retired.stat().st_mode) == 0o600
    fresh = FileKeyProvider(key_file)
    assert fresh.active() == new
    assert fresh.get(old.key_id) == old


def test_another_process_sees_the_new_active_key(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    server = FileKeyProvider(key_file)
    before = server.active()

    new = FileKeyProvider(key_file).rotate()

    assert server.active() == new
    assert server.get(before.key_id) == before
