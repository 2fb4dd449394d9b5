"""Request records: what each storage mode keeps, sealed where it holds content."""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from veil.store.audit import AuditLog
from veil.store.cipher import CipherError
from veil.store.database import Database
from veil.store.records import STORAGE_MODES, Exchange, RecordStore, StorageMode
from veil.store.schema import request_records, transcripts
from veil.store.subject_keys import SubjectKeys

CANARY = "ana.canary@example.com"


def exchange(request_id: str = "veil-1", subject: str = "subject:ana") -> Exchange:
    return Exchange(
        request_id=request_id,
        subject=subject,
        endpoint="chat_completions",
        model="gpt-test",
        stream=False,
        started_at=1_700_000_000.0,
        status=200,
        prompt_tokens=12,
        completion_tokens=3,
        request_entities=Counter({"EMAIL_ADDRESS": 1}),
        request={"messages": [{"role": "user", "content": f"mail {CANARY}"}]},
        response={"choices": [{"message": {"content": "done"}}]},
    )


def rows(db: Database) -> tuple[list[sa.Row[tuple[object, ...]]], list[sa.Row[tuple[object, ...]]]]:
    with db.read() as conn:
        return conn.execute(sa.select(request_records)).all(), conn.execute(sa.select(transcripts)).all()


@pytest.mark.parametrize("mode", STORAGE_MODES)
def test_each_mode_keeps_what_it_names_and_no_more(
    db: Database, keys: SubjectKeys, audit: AuditLog, mode: StorageMode
) -> None:
    store = RecordStore(db, keys, audit, mode)
    store.save(exchange())

    records, sealed = rows(db)
    assert len(records) == (0 if mode == "none" else 1)
    assert len(sealed) == (1 if mode in ("pseudonymized", "full") else 0)
    for record in records:
        assert (record.model, record.status, record.prompt_tokens, record.completion_tokens) == (
            "gpt-test",
            200,
            12,
            3,
        )
        assert record.entities == {"request": {"EMAIL_ADDRESS": 1}, "response": {}}
        assert CANARY not in repr(tuple(record))
    for row in sealed:
        assert CANARY.encode() not in row.sealed
        assert row.kind == mode
    if sealed:
        (opened,) = store.transcripts_of("subject:ana")
        assert opened["request"]["messages"][0]["content"] == f"mail {CANARY}"
        assert opened["request_id"] == "veil-1"


def test_a_transcript_moved_to_another_request_does_not_open(
    db: Database, keys: SubjectKeys, audit: AuditLog
) -> None:
    store = RecordStore(db, keys, audit, "full")
    store.save(exchange("veil-1"))
    store.save(exchange("veil-2"))
    with db.write() as conn:
        first = conn.execute(
            sa.select(transcripts.c.sealed).where(transcripts.c.request_id == "veil-1")
        ).scalar_one()
        conn.execute(sa.update(transcripts).where(transcripts.c.request_id == "veil-2").values(sealed=first))

    with pytest.raises(CipherError):
        store.transcripts_of("subject:ana")


def test_a_subject_sees_only_their_own_transcripts(db: Database, keys: SubjectKeys, audit: AuditLog) -> None:
    store = RecordStore(db, keys, audit, "full")
    store.save(exchange("veil-1", "subject:ana"))
    store.save(exchange("veil-2", "subject:bo"))

    assert [t["request_id"] for t in store.transcripts_of("subject:bo")] == ["veil-2"]
    assert store.transcripts_of("subject:nobody") == []
