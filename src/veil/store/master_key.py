"""The master key: from VEIL_MASTER_KEY, or from a key file created on first start.

Everything the store encrypts is keyed from these 32 bytes; losing them makes the vault
unreadable, leaking them makes it readable. So the key file is private from the moment it
exists, is never half-written, and a key is never quoted back in an error.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

KEY_BYTES = 32
_HEX_LENGTH = 2 * KEY_BYTES
_FORMAT_HINT = "32 bytes as base64 (urlsafe or standard) or 64 hex characters"


class MasterKeyError(ValueError):
    """The master key is missing, malformed, or its file is not private.

    Messages name the source (variable or file path) and never the key itself.
    """


def load_master_key(env_value: str | None, key_file: Path) -> bytes:
    """The 32-byte master key.

    `env_value` is the content of VEIL_MASTER_KEY and wins when set. Otherwise the key is
    read from `key_file`, which is created with a fresh random key (mode 0600, parent 0700)
    if absent. Several processes starting at once on a fresh install all end up with the
    one key that was written first.
    """
    if env_value is not None:
        return decode_master_key(env_value, source="VEIL_MASTER_KEY")
    # Two rounds: a process that loses the race to create the file reads the winner's.
    for _ in range(2):
        try:
            return read_key_file(key_file)
        except FileNotFoundError:
            write_key_file(key_file, secrets.token_bytes(KEY_BYTES), replace=False)
    return read_key_file(key_file)


def encode_master_key(key: bytes) -> str:
    """The text form of a key, as written to a key file and accepted by VEIL_MASTER_KEY."""
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_master_key(text: str, *, source: str) -> bytes:
    """32 key bytes from hex or base64 text; MasterKeyError naming `source` otherwise."""
    stripped = text.strip()
    if not stripped:
        # An empty variable is most likely a broken deployment; falling back to a key file
        # would silently start a second, unrelated vault.
        raise MasterKeyError(f"{source} is set but empty; expected {_FORMAT_HINT}")
    key: bytes | None = None
    if len(stripped) == _HEX_LENGTH:
        try:
            key = bytes.fromhex(stripped)
        except ValueError:
            key = None
    if key is None:
        key = _decode_base64(stripped)
    if key is None or len(key) != KEY_BYTES:
        raise MasterKeyError(f"{source} does not hold a valid master key; expected {_FORMAT_HINT}")
    return key


def _decode_base64(text: str) -> bytes | None:
    standard = text.replace("-", "+").replace("_", "/")
    padded = standard + "=" * (-len(standard) % 4)
    try:
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def read_key_file(key_file: Path) -> bytes:
    """The key in `key_file`, which must be private to its owner."""
    fd = os.open(key_file, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as stream:
        if os.name == "posix" and os.fstat(stream.fileno()).st_mode & 0o077:
            raise MasterKeyError(
                f"key file {key_file} can be read by group or others; run `chmod 600 {key_file}`"
            )
        raw = stream.read(4 * KEY_BYTES)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise MasterKeyError(f"key file {key_file} is not a key file; expected {_FORMAT_HINT}") from None
    return decode_master_key(text, source=f"key file {key_file}")


def write_key_file(key_file: Path, key: bytes, *, replace: bool) -> None:
    """Write `key` to `key_file`, private (0600) from its first byte and never half-written.

    The key goes to a private temporary file that is then moved into place. With
    `replace=False` it is hard-linked, which fails if the file exists: a process that loses
    the race to create a key keeps the winner's. With `replace=True` it is renamed over
    the old file. Either way readers see the old key or the new one, never a part.
    """
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    staging = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(staging, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as stream:
            if hasattr(os, "fchmod"):
                # An unusual umask may have taken bits away; 0600 either way, never more.
                os.fchmod(stream.fileno(), 0o600)
            stream.write(encode_master_key(key).encode("ascii") + b"\n")
            stream.flush()
            os.fsync(stream.fileno())
        if replace:
            os.replace(staging, key_file)
        else:
            try:
                os.link(staging, key_file)
            except FileExistsError:
                return
        _sync_directory(key_file.parent)
    finally:
        staging.unlink(missing_ok=True)


def _sync_directory(directory: Path) -> None:
    # Without this a power cut can lose the new directory entry while the vault already
    # holds values sealed under the key.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
