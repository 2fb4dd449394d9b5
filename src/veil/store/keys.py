"""Master keys: where they come from (a KeyProvider) and how they are told apart (key ids).

A master key never encrypts data. It wraps the per-subject data keys and the installation
secret (`store.subject_keys`), and every wrapped row records the id of the key that wrapped
it. So a new master key can take over while rows wrapped by the old one are re-wrapped
(`store.rotation`), and each replica reads both until they are done.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from veil.store.master_key import (
    KEY_BYTES,
    MasterKeyError,
    decode_master_key,
    load_master_key,
    read_key_file,
    write_key_file,
)


@dataclass(frozen=True, slots=True)
class MasterKey:
    key_id: str
    material: bytes = b""

    def __repr__(self) -> str:
        return f"MasterKey({self.key_id!r})"


class UnknownMasterKeyError(MasterKeyError):
    """A row was wrapped by a master key this process does not hold."""


class KeyProvider(Protocol):
    """The master keys of an installation: one active, any number retired."""

    def active(self) -> MasterKey:
        """The key new data keys are wrapped with."""
        ...

    def get(self, key_id: str) -> MasterKey:
        """The key with this id, active or retired; UnknownMasterKeyError if not held."""
        ...


def key_id_of(material: bytes) -> str:
    """A public name for a key: reveals nothing about it, the same in every process."""
    return hmac.new(material, b"veil/master-key-id", hashlib.sha256).hexdigest()[:16]


def master_key(material: bytes) -> MasterKey:
    if len(material) != KEY_BYTES:
        raise MasterKeyError(f"a master key is {KEY_BYTES} bytes")
    return MasterKey(key_id_of(material), material)


class EnvKeyProvider:
    """Keys given in the environment: VEIL_MASTER_KEY (active) and VEIL_RETIRED_MASTER_KEYS
    (comma-separated; kept while rows they wrapped are being re-wrapped)."""

    def __init__(self, active: str, retired: str = "") -> None:
        self._active = master_key(decode_master_key(active, source="VEIL_MASTER_KEY"))
        keys = [self._active]
        for number, text in enumerate(part for part in retired.split(",") if part.strip()):
            keys.append(
                master_key(decode_master_key(text, source=f"VEIL_RETIRED_MASTER_KEYS entry {number + 1}"))
            )
        self._keys = {key.key_id: key for key in keys}

    def active(self) -> MasterKey:
        return self._active

    def get(self, key_id: str) -> MasterKey:
        return _known(self._keys, key_id)


class FileKeyProvider:
    """Keys in files: `master.key` is the active one (created on first start, mode 0600);
    `retired-keys/<id>.key` hold the keys it replaced.

    `rotate()` files the active key under `retired-keys/` before the new one replaces it,
    so a crash at any point leaves every key that wrapped something on disk. Other processes
    notice a new `master.key` by its modification time.
    """

    def __init__(self, key_file: Path) -> None:
        self._key_file = key_file
        self._retired_dir = key_file.parent / "retired-keys"
        self._lock = threading.Lock()
        self._active = master_key(load_master_key(None, key_file))
        self._stamp = _stamp(key_file)
        self._keys: dict[str, MasterKey] = {self._active.key_id: self._active}

    def active(self) -> MasterKey:
        with self._lock:
            stamp = _stamp(self._key_file)
            if stamp != self._stamp:
                self._active = master_key(read_key_file(self._key_file))
                self._keys[self._active.key_id] = self._active
                self._stamp = stamp
            return self._active

    def get(self, key_id: str) -> MasterKey:
        with self._lock:
            if key_id in self._keys:
                return self._keys[key_id]
        for key in self._read_all():
            with self._lock:
                self._keys.setdefault(key.key_id, key)
        with self._lock:
            return _known(self._keys, key_id)

    def rotate(self) -> MasterKey:
        """Make a fresh key the active one; the previous one is kept as retired."""
        previous = self.active()
        self._retired_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        retired_file = self._retired_dir / f"{previous.key_id}.key"
        if not retired_file.exists():
            write_key_file(retired_file, previous.material, replace=False)
        write_key_file(self._key_file, secrets.token_bytes(KEY_BYTES), replace=True)
        return self.active()

    def _read_all(self) -> Iterable[MasterKey]:
        yield master_key(read_key_file(self._key_file))
        if self._retired_dir.is_dir():
            for path in sorted(self._retired_dir.glob("*.key")):
                yield master_key(read_key_file(path))


def key_provider(env_active: str | None, env_retired: str | None, key_file: Path) -> KeyProvider:
    """Keys from the environment when VEIL_MASTER_KEY is set, else from the key file."""
    if env_active is not None:
        return EnvKeyProvider(env_active, env_retired or "")
    return FileKeyProvider(key_file)


def _known(keys: dict[str, MasterKey], key_id: str) -> MasterKey:
    try:
        return keys[key_id]
    except KeyError:
        raise UnknownMasterKeyError(
            f"data was wrapped by master key {key_id}, which this process does not hold"
            " (set VEIL_RETIRED_MASTER_KEYS, or restore retired-keys/)"
        ) from None


def _stamp(path: Path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_mtime_ns, status.st_ino
