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

from veil.store.cipher import Cipher, length_prefixed
from veil.store.database import Database
from veil.store.schema import request_records, transcripts
from veil.store.subject_keys import SubjectKeys

StorageMode = Literal["none", "metadata", "pseudonymized", "full"]
STORAGE_MODES: tuple[StorageMode, ...] = ("none", "metadata", "pseudonymized", "full")


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


class RecordStore:
    """Writes each request's record; nothing at all in mode `none`.

    Metadata holds counts and names (model, entity types), never values, and stays in
    clear so it can be counted over. Transcripts are sealed with the subject's data key,
    bound to their request id, subject and kind.
    """

    def __init__(
        self,
        db: Database,
        keys: SubjectKeys,
        mode: StorageMode,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._keys = keys
        self.mode: StorageMode = mode
        self._clock = clock

    @property
    def keeps_transcripts(self) -> bool:
        return self.mode in ("pseudonymized", "full")

    def save(self, exchange: Exchange) -> None:
        """Commit the record; when this returns it survives a crash of the process."""
        if self.mode == "none":
            return
        with self._db.write() as conn:
            conn.execute(
                sa.insert(request_records).values(
                    request_id=exchange.request_id,
                    subject=exchange.subject,
                    created_at=exchange.started_at,
                    endpoint=exchange.endpoint,
                    model=exchange.model,
                    status=exchange.status,
                    stream=exchange.stream,
                    prompt_tokens=exchange.prompt_tokens,
                    completion_tokens=exchange.completion_tokens,
                    entities={
                        "request": dict(exchange.request_entities),
                        "response": dict(exchange.response_entities),
                    },
                    storage_mode=self.mode,
                )
            )
            if self.keeps_transcripts and exchange.request is not None:
                cipher = self._keys.cipher(conn, exchange.subject, create=True)
                assert cipher is not None  # create=True
                document = orjson.dumps({"request": exchange.request, "response": exchange.response})
                conn.execute(
                    sa.insert(transcripts).values(
                        request_id=exchange.request_id,
                        subject=exchange.subject,
                        kind=self.mode,
                        sealed=cipher.seal_bytes(document, transcript_aad(exchange, self.mode)),
                        created_at=exchange.started_at,
                    )
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
