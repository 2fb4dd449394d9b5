"""The audit log: append-only, hash-chained, with a signed head.

Each entry's `body` is the canonical JSON of the whole entry: its sequence number, time,
kind, subject pseudonym, data, and the hash of the entry before it. Its `hash` is the
SHA-256 of that body. So editing any byte of an entry breaks its hash; deleting, inserting
or reordering entries breaks the sequence or the chain of previous hashes; and the head
(the last sequence number and hash, HMAC-signed with a key of the installation, rewritten
with every append) shows a truncated tail, which the chain alone could not. A signed
checkpoint is also kept every CHECKPOINT_EVERY entries.

Entries hold pseudonyms, types, counts and actions, never values, so erasing a person
never has to touch the chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from veil.store.database import Database
from veil.store.schema import audit_checkpoints, audit_head, audit_log

GENESIS = "0" * 64
CHECKPOINT_EVERY = 1000
_HEAD_ID = 1
_BATCH = 2000
# Every request appends an entry: its statements are built once, not per append.
_LOCK_HEAD = (
    sa.select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == _HEAD_ID).with_for_update()
)
_INSERT_ENTRY = sa.insert(audit_log)
_MOVE_HEAD = sa.update(audit_head).where(audit_head.c.id == _HEAD_ID)


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of checking the whole chain."""

    ok: bool
    entries: int
    # The first entry found wrong (or missing), and why; None when intact.
    first_bad_seq: int | None = None
    problem: str = ""


class AuditLog:
    def __init__(self, db: Database, signing_key: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._key = signing_key
        self._clock = clock

    def append(self, conn: Connection, kind: str, subject: str | None, data: dict[str, Any]) -> int:
        """Add an entry inside the caller's write transaction; returns its sequence number.

        Appends are serialised on the head row (locked until the transaction ends), so
        entries from several processes form one chain.
        """
        head = conn.execute(_LOCK_HEAD).first()
        if head is None:
            # The chain's first entry. Another process may be making the head row right now:
            # the insert then waits for it and does nothing, and the read finds its row.
            conn.execute(
                self._db.insert_ignoring_conflicts(audit_head).values(
                    id=_HEAD_ID, seq=0, hash=GENESIS, signature=self._sign(0, GENESIS)
                )
            )
            head = conn.execute(_LOCK_HEAD).one()
        seq = int(head.seq) + 1
        now = self._clock()
        body = canonical(
            {"seq": seq, "at": now, "kind": kind, "subject": subject, "data": data, "prev": head.hash}
        )
        digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
        conn.execute(
            _INSERT_ENTRY,
            {"seq": seq, "recorded_at": now, "kind": kind, "subject": subject, "body": body, "hash": digest},
        )
        signature = self._sign(seq, digest)
        conn.execute(_MOVE_HEAD, {"seq": seq, "hash": digest, "signature": signature})
        if seq % CHECKPOINT_EVERY == 0:
            conn.execute(
                sa.insert(audit_checkpoints).values(
                    seq=seq, hash=digest, signature=signature, recorded_at=now
                )
            )
        return seq

    def record(self, kind: str, subject: str | None, data: dict[str, Any]) -> int:
        """Append in a transaction of its own."""
        with self._db.write() as conn:
            return self.append(conn, kind, subject, data)

    def entries_of(self, subject: str) -> list[dict[str, Any]]:
        with self._db.read() as conn:
            bodies = conn.execute(
                sa.select(audit_log.c.body).where(audit_log.c.subject == subject).order_by(audit_log.c.seq)
            ).scalars()
            return [json.loads(body) for body in bodies]

    def verify(self) -> Verification:
        """Check every entry, the chain, the head and the checkpoints."""
        seq, last_hash = 0, GENESIS
        hashes_at: dict[int, str] = {}
        with self._db.read() as conn:
            checkpoints = {row.seq: row for row in conn.execute(sa.select(audit_checkpoints))}
            head = conn.execute(sa.select(audit_head).where(audit_head.c.id == _HEAD_ID)).first()
            for row in _rows(conn):
                expected = seq + 1
                problem = self._check(row, expected, last_hash)
                if problem:
                    return Verification(False, seq, min(expected, row.seq), problem)
                seq, last_hash = row.seq, row.hash
                if row.seq in checkpoints:
                    hashes_at[row.seq] = row.hash
        if head is None:
            if seq:
                return Verification(False, seq, 1, "the signed head is missing")
            return Verification(True, 0)
        if not hmac.compare_digest(head.signature, self._sign(head.seq, head.hash)):
            return Verification(False, seq, head.seq or 1, "the head's signature does not match")
        if head.seq > seq:
            return Verification(
                False, seq, seq + 1, f"entries {seq + 1} to {head.seq} are missing (tail cut)"
            )
        if head.seq < seq or head.hash != last_hash:
            return Verification(
                False, seq, head.seq + 1, "entries after the signed head were not appended by Veil"
            )
        for checkpoint in sorted(checkpoints.values(), key=lambda c: c.seq):
            if not hmac.compare_digest(checkpoint.signature, self._sign(checkpoint.seq, checkpoint.hash)):
                return Verification(False, seq, checkpoint.seq, "a checkpoint's signature does not match")
            if hashes_at.get(checkpoint.seq) != checkpoint.hash:
                return Verification(
                    False, seq, checkpoint.seq, "the chain differs from its signed checkpoint"
                )
        return Verification(True, seq)

    def _check(self, row: Any, expected: int, prev: str) -> str:
        if row.seq != expected:
            return (
                f"entry {expected} is missing" if row.seq > expected else f"entry {row.seq} is out of order"
            )
        if hashlib.sha256(row.body.encode("utf-8")).hexdigest() != row.hash:
            return f"entry {row.seq} was altered (its hash does not match its content)"
        try:
            body = json.loads(row.body)
        except ValueError:
            return f"entry {row.seq} is not readable"
        if body.get("prev") != prev:
            return f"entry {row.seq} does not follow entry {row.seq - 1} (chain broken)"
        fields = (body.get("seq"), body.get("at"), body.get("kind"), body.get("subject"))
        if fields != (row.seq, row.recorded_at, row.kind, row.subject):
            return f"entry {row.seq}'s columns differ from its hashed content"
        return ""

    def _sign(self, seq: int, digest: str) -> str:
        return hmac.new(self._key, f"veil-audit-head:{seq}:{digest}".encode(), hashlib.sha256).hexdigest()


def canonical(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _rows(conn: Connection) -> Iterator[Any]:
    after = 0
    while True:
        batch = conn.execute(
            sa.select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(_BATCH)
        ).all()
        if not batch:
            return
        yield from batch
        after = batch[-1].seq
