"""What is kept of each request, as the storage mode asks: nothing, metadata, or a sealed
transcript (as the provider saw it, or as the client sent and got it)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from veil.scope import tenant_of
from veil.store.audit import AuditLog
from veil.store.cipher import Cipher, length_prefixed
from veil.store.database import Database
from veil.store.schema import request_records, transcripts
from veil.store.subject_keys import SubjectKeys

StorageMode = Literal["none", "metadata", "pseudonymized", "full"]
STORAGE_MODES: tuple[StorageMode, ...] = ("none", "metadata", "pseudonymized", "full")
# Built once, executed with each request's values: composing an INSERT with its values per
# request cost more than running it.
_INSERT_RECORD = sa.insert(request_records)
_INSERT_TRANSCRIPT = sa.insert(transcripts)


@dataclass(slots=True)
class Exchange:
    """One request and its reply, gathered by the proxy for the record.

    `request` and `response` are the transcript's two halves in the form the mode asks
    for: the pseudonymized body and the provider's reply for `pseudonymized`, the
    client's body and what the client got for `full`. A streamed reply is the list of
    its events' data. Both stay None below those modes, so nothing is gathered for them.
    """

    request_id: str
    subject: str
    endpoint: str
    model: str | None
    stream: bool
    started_at: float
    status: int = 0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    request_entities: Counter[str] = field(default_factory=Counter)
    response_entities: Counter[str] = field(default_factory=Counter)
    request: Any = None
    response: Any = None
    # What the request was handled under: consent state by purpose, the policy version, and
    # what became of it ("forwarded", "refused_consent", "failed").
    consent: dict[str, bool] | None = None
    policy_version: str | None = None
    outcome: str = "forwarded"
    # False when the subject withdrew `store_transcripts`: then only metadata is kept.
    transcript_allowed: bool = True
    # The tenant's storage mode (None: the store's own), and the action taken per type.
    storage_mode: StorageMode | None = None
    actions: dict[str, str] = field(default_factory=dict)

    def audit_entry(self, stored: str) -> dict[str, Any]:
        """The request's decision for the audit log: types, counts and actions, never values."""
        return {
            "request_id": self.request_id,
            "endpoint": self.endpoint,
            "status": self.status,
            "outcome": self.outcome,
            "entities": {"request": dict(self.request_entities), "response": dict(self.response_entities)},
            "actions": {
                **dict.fromkeys(self.request_entities, "pseudonymize"),
                **self.actions,
                **{f"response:{kind}": "redact" for kind in self.response_entities},
            },
            "policy_version": self.policy_version,
            "consent": self.consent,
            "stored": stored,
        }


class RecordStore:
    """Writes each request's audit entry and, as the storage mode asks, its record.

    Metadata holds counts and names (model, entity types), never values, and stays in
    clear so it can be counted over. Transcripts are sealed with the subject's data key,
    bound to their request id, subject and kind. The audit entry is written in every mode,
    in the same transaction: accountability is not optional, and it holds no values.
    """

    def __init__(
        self,
        db: Database,
        keys: SubjectKeys,
        audit: AuditLog,
        mode: StorageMode,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._keys = keys
        self._audit = audit
        self.mode: StorageMode = mode
        self._clock = clock

    @property
    def keeps_transcripts(self) -> bool:
        return self.mode in ("pseudonymized", "full")

    def stored_mode(self, exchange: Exchange) -> StorageMode:
        """What is kept of this exchange: its tenant's mode (else the store's), lowered to
        metadata without transcript consent."""
        mode = exchange.storage_mode or self.mode
        if mode in ("pseudonymized", "full") and not exchange.transcript_allowed:
            return "metadata"
        return mode

    def save(self, exchange: Exchange) -> None:
        """Commit the record; when this returns it survives a crash of the process."""
        stored = self.stored_mode(exchange)
        with self._db.write() as conn:
            self._audit.append(conn, "request", exchange.subject, exchange.audit_entry(stored))
            if stored == "none":
                return
            conn.execute(
                _INSERT_RECORD,
                {
                    "request_id": exchange.request_id,
                    "subject": exchange.subject,
                    "tenant": tenant_of(exchange.subject),
                    "created_at": exchange.started_at,
                    "endpoint": exchange.endpoint,
                    "model": exchange.model,
                    "status": exchange.status,
                    "stream": exchange.stream,
                    "prompt_tokens": exchange.prompt_tokens,
                    "completion_tokens": exchange.completion_tokens,
                    "entities": {
                        "request": dict(exchange.request_entities),
                        "response": dict(exchange.response_entities),
                    },
                    "storage_mode": stored,
                    "consent": exchange.consent,
                    "policy_version": exchange.policy_version,
                },
            )
            if stored in ("pseudonymized", "full") and exchange.request is not None:
                cipher = self._keys.cipher(conn, exchange.subject, create=True)
                assert cipher is not None  # create=True
                document = orjson.dumps({"request": exchange.request, "response": exchange.response})
                conn.execute(
                    _INSERT_TRANSCRIPT,
                    {
                        "request_id": exchange.request_id,
                        "subject": exchange.subject,
                        "tenant": tenant_of(exchange.subject),
                        "kind": stored,
                        "sealed": cipher.seal_bytes(document, transcript_aad(exchange, stored)),
                        "created_at": exchange.started_at,
                    },
                )

    def transcripts_of(self, subject: str) -> list[dict[str, Any]]:
        """A subject's transcripts, opened, oldest first (for export and tests)."""
        with self._db.read() as conn:
            cipher = self._keys.cipher(conn, subject, create=False)
            rows = conn.execute(
                sa.select(transcripts)
                .where(transcripts.c.subject == subject)
                .order_by(transcripts.c.created_at, transcripts.c.request_id)
            ).all()
        if cipher is None:
            return []
        return [_open(cipher, row) for row in rows]


def transcript_aad(exchange: Exchange, kind: str) -> bytes:
    return length_prefixed("veil/transcript", exchange.request_id, exchange.subject, kind)


def _open(cipher: Cipher, row: Any) -> dict[str, Any]:
    aad = length_prefixed("veil/transcript", row.request_id, row.subject, row.kind)
    document: dict[str, Any] = orjson.loads(cipher.open_bytes(row.sealed, aad))
    return {"request_id": row.request_id, "kind": row.kind, "created_at": row.created_at, **document}
