"""The audit chain: any edit, deletion, insertion, reordering or cut tail is found and named."""

from __future__ import annotations

import secrets
import threading

import pytest
import sqlalchemy as sa

from veil.store.audit import CHECKPOINT_EVERY, AuditLog
from veil.store.database import Database
from veil.store.schema import audit_checkpoints, audit_head, audit_log

KEY = secrets.token_bytes(32)
ENTRIES = 12


@pytest.fixture
def audit(db: Database) -> AuditLog:
    log = AuditLog(db, KEY)
    for n in range(ENTRIES):
        log.record(
            "request", f"subject:{n % 3}", {"entities": {"EMAIL_ADDRESS": n}, "action": "pseudonymize"}
        )
    return log


def rows(db: Database) -> list[sa.Row[tuple[object, ...]]]:
    with db.read() as conn:
        return list(conn.execute(sa.select(audit_log).order_by(audit_log.c.seq)).all())


def test_an_untouched_chain_verifies(audit: AuditLog) -> None:
    result = audit.verify()

    assert (result.ok, result.entries, result.first_bad_seq) == (True, ENTRIES, None)


def test_an_empty_log_verifies(db: Database) -> None:
    assert AuditLog(db, KEY).verify().ok


@pytest.mark.parametrize("column", ["body", "hash", "kind", "subject", "recorded_at"])
@pytest.mark.parametrize("seq", [1, 7, ENTRIES])
def test_editing_any_column_of_any_entry_names_that_entry(
    db: Database, audit: AuditLog, column: str, seq: int
) -> None:
    row = next(r for r in rows(db) if r.seq == seq)
    edited = {
        "body": row.body.replace('"action":"pseudonymize"', '"action":"allow"'),
        "hash": ("f" if row.hash[0] != "f" else "e") + row.hash[1:],
        "kind": "admin",
        "subject": "subject:someone-else",
        "recorded_at": row.recorded_at + 1,
    }[column]
    with db.write() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == seq).values({column: edited}))

    result = audit.verify()

    assert not result.ok
    assert result.first_bad_seq == seq, result.problem


def test_a_single_byte_flip_in_a_body_is_found(db: Database, audit: AuditLog) -> None:
    row = rows(db)[4]
    body = row.body.replace("EMAIL_ADDRESS", "EMAIL_ADDRESZ")
    with db.write() as conn:
        conn.execute(sa.update(audit_log).where(audit_log.c.seq == row.seq).values(body=body))

    assert audit.verify().first_bad_seq == row.seq


def test_a_deleted_entry_is_named(db: Database, audit: AuditLog) -> None:
    with db.write() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq == 5))

    result = audit.verify()

    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "missing" in result.problem


def test_a_cut_tail_is_found_by_the_signed_head(db: Database, audit: AuditLog) -> None:
    with db.write() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq > 9))

    result = audit.verify()

    assert (result.ok, result.first_bad_seq) == (False, 10)
    assert "tail" in result.problem


def test_a_head_rewritten_without_the_key_is_found(db: Database, audit: AuditLog) -> None:
    with db.write() as conn:
        conn.execute(sa.delete(audit_log).where(audit_log.c.seq > 9))
        last = conn.execute(sa.select(audit_log.c.hash).where(audit_log.c.seq == 9)).scalar_one()
        conn.execute(sa.update(audit_head).values(seq=9, hash=last))

    result = audit.verify()

    assert not result.ok and "signature" in result.problem


def test_two_entries_swapped_are_found(db: Database, audit: AuditLog) -> None:
    third, fourth = rows(db)[2:4]
    with db.write() as conn:
        for target, source in ((third, fourth), (fourth, third)):
            conn.execute(
                sa.update(audit_log)
                .where(audit_log.c.seq == target.seq)
                .values(
                    body=source.body, hash=source.hash, recorded_at=source.recorded_at, subject=source.subject
                )
            )

    assert audit.verify().first_bad_seq == 3


def test_an_inserted_entry_is_found(db: Database, audit: AuditLog) -> None:
    """A forged entry needs a sequence number: the entries after it must move, which their
    hashed content does not allow."""
    with db.write() as conn:
        # Shift entries 7.. up by one, in two steps so no two rows ever share a number.
        conn.execute(sa.update(audit_log).where(audit_log.c.seq > 6).values(seq=audit_log.c.seq + 1000))
        conn.execute(sa.update(audit_log).where(audit_log.c.seq > 1000).values(seq=audit_log.c.seq - 999))
        copied = conn.execute(sa.select(audit_log).where(audit_log.c.seq == 6)).one()
        conn.execute(
            sa.insert(audit_log).values(
                seq=7,
                recorded_at=copied.recorded_at,
                kind=copied.kind,
                subject=copied.subject,
                body=copied.body,
                hash=copied.hash,
            )
        )

    result = audit.verify()

    assert not result.ok and result.first_bad_seq == 7


def test_a_checkpoint_pins_history_even_when_the_head_is_intact(db: Database) -> None:
    log = AuditLog(db, KEY)
    with db.write() as conn:
        for n in range(CHECKPOINT_EVERY + 2):
            log.append(conn, "request", None, {"n": n})
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_checkpoints)).scalar_one() == 1
    assert log.verify().ok


def test_appends_from_many_threads_form_one_chain(db: Database) -> None:
    log = AuditLog(db, KEY)

    def append(worker: int) -> None:
        for n in range(15):
            log.record("request", f"subject:{worker}", {"n": n})

    threads = [threading.Thread(target=append, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    result = log.verify()
    assert (result.ok, result.entries) == (True, 60), result.problem


def test_entries_of_a_subject_hold_no_values(audit: AuditLog) -> None:
    entries = audit.entries_of("subject:1")

    assert [entry["seq"] for entry in entries] == [2, 5, 8, 11]
    assert all(set(entry) == {"seq", "at", "kind", "subject", "data", "prev"} for entry in entries)
