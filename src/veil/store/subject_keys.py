"""Envelope encryption: one data key per data subject, wrapped by the active master key.

Everything stored about a subject (vault values, transcripts) is sealed with a Cipher
derived from that subject's data key, and the value index is keyed from it too. Deleting
the subject's key row therefore leaves their ciphertexts and index entries unreadable and
untestable, wherever copies of them survive (backups, WAL, replicas).

Wrapping: AES-256-GCM under the master key, with associated data naming the purpose and
the subject, so a wrapped key moved to another subject's row does not open.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.engine import Connection

from veil.store.cipher import NONCE_BYTES, Cipher, CipherError, length_prefixed
from veil.store.database import Database
from veil.store.keys import KeyProvider, MasterKey
from veil.store.master_key import KEY_BYTES
from veil.store.schema import installation_secrets, subject_keys

SCOPE_SECRET = "scope-hash-key"
AUDIT_SECRET = "audit-signing-key"
# Keys the `surrogate` and `hash` policy actions are made with.
SURROGATE_SECRET = "surrogate-key"
HASH_SECRET = "hash-action-key"

# Every mint transaction reads (and locks) its subject's key: the statements are built once
# and run with the subject, as composing one cost more than running it.
_KEY = sa.select(subject_keys.c.wrapped, subject_keys.c.master_key_id).where(
    subject_keys.c.subject == sa.bindparam("subject")
)
_LOCKED_KEY = _KEY.with_for_update()


@dataclass(frozen=True, slots=True)
class _Cached:
    cipher: Cipher
    loaded_at: float


class SubjectKeys:
    """Per-subject Ciphers, created on first need, cached for `max_age_seconds`.

    The cache is bounded. An entry older than `max_age_seconds` is read again, so an
    erasure done by another process is honoured here within that time; `forget` drops a
    subject at once in this one.
    """

    def __init__(
        self,
        db: Database,
        keys: KeyProvider,
        *,
        max_entries: int = 10_000,
        max_age_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._keys = keys
        self._max_entries = max_entries
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._create_key = db.insert_ignoring_conflicts(subject_keys)

    def cipher(self, conn: Connection, subject: str, *, create: bool, lock: bool = False) -> Cipher | None:
        """The subject's Cipher, read in `conn`'s transaction.

        `create` makes a key if the subject has none. `lock` also locks the key row until
        the transaction ends (PostgreSQL; SQLite's write transactions are already
        exclusive), which serialises writers of one subject across processes.

        Only reads are served from the cache. A caller that will seal (`create`) always
        gets the key the database holds now: another process may have erased the subject
        since this one cached their key, and data sealed under a destroyed key could never
        be opened again, not even for the subject's own export.
        """
        if not lock and not create:
            cached = self._cached(subject)
            if cached is not None:
                return cached
        query = _LOCKED_KEY if lock else _KEY
        row = conn.execute(query, {"subject": subject}).first()
        if row is None and create:
            master = self._keys.active()
            conn.execute(
                self._create_key,
                {
                    "subject": subject,
                    "wrapped": wrap(master, secrets.token_bytes(KEY_BYTES), subject_aad(subject)),
                    "master_key_id": master.key_id,
                    "created_at": time.time(),
                },
            )
            row = conn.execute(query, {"subject": subject}).first()
        if row is None:
            return None
        master = self._keys.get(row.master_key_id)
        cipher = Cipher(unwrap(master, row.wrapped, subject_aad(subject)))
        with self._lock:
            self._cache[subject] = _Cached(cipher, self._clock())
            self._cache.move_to_end(subject)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return cipher

    def forget(self, subject: str) -> None:
        with self._lock:
            self._cache.pop(subject, None)

    def installation_secret(self, name: str) -> bytes:
        """A random secret of this installation (shared by every replica), made on first use."""
        aad = secret_aad(name)
        with self._db.write() as conn:
            master = self._keys.active()
            conn.execute(
                self._db.insert_ignoring_conflicts(installation_secrets).values(
                    name=name,
                    wrapped=wrap(master, secrets.token_bytes(KEY_BYTES), aad),
                    master_key_id=master.key_id,
                    created_at=time.time(),
                )
            )
            row = conn.execute(
                sa.select(installation_secrets.c.wrapped, installation_secrets.c.master_key_id).where(
                    installation_secrets.c.name == name
                )
            ).one()
        return unwrap(self._keys.get(row.master_key_id), row.wrapped, aad)

    def _cached(self, subject: str) -> Cipher | None:
        with self._lock:
            entry = self._cache.get(subject)
            if entry is None:
                return None
            if self._clock() - entry.loaded_at > self._max_age:
                del self._cache[subject]
                return None
            self._cache.move_to_end(subject)
            return entry.cipher


def wrap(master: MasterKey, data_key: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master.material).encrypt(nonce, data_key, aad + master.key_id.encode())


def unwrap(master: MasterKey, wrapped: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(master.material).decrypt(
            wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad + master.key_id.encode()
        )
    except InvalidTag:
        raise CipherError("a wrapped key does not open under its master key and row") from None


def secret_aad(name: str) -> bytes:
    return length_prefixed("veil/installation-secret", name)


def subject_aad(subject: str) -> bytes:
    return length_prefixed("veil/subject-key", subject)
