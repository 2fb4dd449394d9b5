"""Sealing stored values, and finding them again without storing them in clear.

A Cipher is built from one 32-byte key: a subject's data key (`store.subject_keys`).
"""

from __future__ import annotations

import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from veil.store.master_key import KEY_BYTES

NONCE_BYTES = 12
_TAG_BYTES = 16

# Distinct labels give independent sub-keys; the version lets a later scheme coexist.
_SEAL_LABEL = b"veil/store/seal/v1"
_INDEX_LABEL = b"veil/store/index/v1"


class CipherError(Exception):
    """A sealed blob did not open: another key sealed it, it was altered, or it was
    sealed for another row."""


class Cipher:
    """AES-256-GCM sealing and an HMAC-SHA256 lookup index, both keyed from one key.

    The sealing key and the index key are derived separately with HKDF-SHA256, so the
    index (stored beside every ciphertext) reveals nothing about the sealing key.
    """

    __slots__ = ("_aead", "_index_key")

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(_derive(key, _SEAL_LABEL))
        self._index_key = _derive(key, _INDEX_LABEL)

    def seal(self, plaintext: str, aad: bytes) -> bytes:
        """`nonce || ciphertext+tag` of `plaintext`, bound to `aad`.

        `aad` is not stored; `open` must be given the same bytes, which is what binds a
        ciphertext to its row.
        """
        return self.seal_bytes(plaintext.encode("utf-8"), aad)

    def seal_bytes(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, aad: bytes) -> str:
        """The plaintext sealed in `blob` for `aad`; CipherError if it does not authenticate."""
        return self.open_bytes(blob, aad).decode("utf-8")

    def open_bytes(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) < NONCE_BYTES + _TAG_BYTES:
            raise CipherError("sealed value is truncated")
        try:
            plaintext = self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise CipherError("sealed value does not authenticate under this key and row") from None
        return plaintext

    def index(self, scope: str, value: str) -> bytes:
        """A keyed hash of `value` within `scope`, to look the value up by.

        Without the key it cannot be tested against guesses, and the same value gives
        unrelated hashes in two scopes.
        """
        return hmac.digest(self._index_key, length_prefixed(scope, value), "sha256")


def length_prefixed(*parts: str) -> bytes:
    """`parts` joined so that no two different tuples give the same bytes."""
    out = bytearray()
    for part in parts:
        encoded = part.encode("utf-8")
        out += len(encoded).to_bytes(4, "big")
        out += encoded
    return bytes(out)


def _derive(key: bytes, label: bytes) -> bytes:
    # The key is uniformly random, so HKDF needs no salt here (RFC 5869, 3.1).
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(key)
