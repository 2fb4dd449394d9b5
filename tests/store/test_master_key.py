"""Loading the master key from VEIL_MASTER_KEY or the key file."""

from __future__ import annotations

import base64
import os
import stat
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from veil.store.master_key import MasterKeyError, encode_master_key, load_master_key

# Bytes whose base64 uses the characters in which the two alphabets differ (+/ versus -_).
KEY = bytes([0xFB, 0xFF, 0xBF]) * 10 + b"\x01\x02"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def error_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error))


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.mark.parametrize(
    "env_value",
    [
        KEY.hex(),
        KEY.hex().upper(),
        base64.b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode(),
        base64.urlsafe_b64encode(KEY).decode().rstrip("="),
        base64.b64encode(KEY).decode().rstrip("="),
        f"  {KEY.hex()}\n",
    ],
)
def test_the_environment_value_is_decoded_in_every_accepted_form(env_value: str, tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"

    assert load_master_key(env_value, key_file) == KEY
    assert not key_file.exists()


@pytest.mark.parametrize(
    "env_value",
    [
        "",
        "   ",
        "not a key at all",
        KEY.hex()[:-2],
        KEY.hex() + "ab",
        "zz" * 32,
        base64.b64encode(KEY + b"\x00").decode(),
        base64.b64encode(KEY[:-1]).decode(),
        base64.b64encode(KEY).decode()[:-2] + "!!",
    ],
)
def test_a_malformed_environment_value_is_refused_without_being_quoted(
    env_value: str, tmp_path: Path
) -> None:
    with pytest.raises(MasterKeyError) as caught:
        load_master_key(env_value, tmp_path / "master.key")

    assert isinstance(caught.value, ValueError)
    assert "VEIL_MASTER_KEY" in str(caught.value)
    if env_value.strip():
        assert env_value.strip() not in error_text(caught.value)
        assert env_value.strip()[:12] not in error_text(caught.value)


def test_a_missing_key_file_is_created_private_with_a_fresh_key(tmp_path: Path) -> None:
    key_file = tmp_path / "state" / "master.key"

    key = load_master_key(None, key_file)

    assert len(key) == 32
    assert mode_of(key_file) == 0o600
    assert mode_of(key_file.parent) == 0o700
    assert load_master_key(None, key_file) == key
    assert list(key_file.parent.iterdir()) == [key_file]


def test_the_key_file_is_private_even_under_a_permissive_umask(
    permissive_umask: None, tmp_path: Path
) -> None:
    key_file = tmp_path / "state" / "master.key"

    load_master_key(None, key_file)

    assert mode_of(key_file) == 0o600
    assert mode_of(key_file.parent) == 0o700


def test_two_installs_get_different_keys(tmp_path: Path) -> None:
    assert load_master_key(None, tmp_path / "a.key") != load_master_key(None, tmp_path / "b.key")


def test_the_key_file_holds_what_veil_master_key_accepts(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key = load_master_key(None, key_file)

    text = key_file.read_text()

    assert text == encode_master_key(key) + "\n"
    assert load_master_key(text, tmp_path / "unused.key") == key


def test_the_environment_value_wins_over_an_existing_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    load_master_key(None, key_file)

    assert load_master_key(KEY.hex(), key_file) == KEY


def test_a_hand_written_hex_key_file_is_read(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(KEY.hex())
    key_file.chmod(0o600)

    assert load_master_key(None, key_file) == KEY


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_a_key_file_others_can_read_is_refused(mode: int, tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(KEY.hex())
    key_file.chmod(mode)

    with pytest.raises(MasterKeyError, match="chmod 600"):
        load_master_key(None, key_file)


@pytest.mark.parametrize("content", [b"", b"short", b"\xff\xfe binary \x00", b"zz" * 32])
def test_a_key_file_without_a_key_is_refused_without_being_quoted(content: bytes, tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_bytes(content)
    key_file.chmod(0o600)

    with pytest.raises(MasterKeyError) as caught:
        load_master_key(None, key_file)

    assert str(key_file) in str(caught.value)
    if len(content) > 4:
        assert content.decode("latin-1") not in error_text(caught.value)


def test_processes_racing_to_create_the_key_file_all_get_the_same_key(tmp_path: Path) -> None:
    key_file = tmp_path / "state" / "master.key"
    racers = 16
    start = threading.Barrier(racers)
    keys: list[bytes] = []
    failures: list[BaseException] = []

    def race() -> None:
        start.wait()
        try:
            keys.append(load_master_key(None, key_file))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert len(keys) == racers
    assert len(set(keys)) == 1
    assert mode_of(key_file) == 0o600
    assert list(key_file.parent.iterdir()) == [key_file]
