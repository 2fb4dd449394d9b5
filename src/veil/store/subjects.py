"""A data subject's rights: export everything held about them, and erase it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from veil.store.audit import AuditLog
from veil.store.consent import ConsentLedger
from veil.store.database import Database
from veil.store.records import RecordStore
from veil.store.schema import consents, request_records, subject_keys, transcripts, vault_entries
from veil.store.subject_keys import SubjectKeys
from veil.store.vault import row_aad


class SubjectData:
    """Export (GDPR Art. 15/20) and erasure (Art. 17) for one subject pseudonym.

    `forget` drops a subject from this process's in-memory caches (vault mappings, data
    keys); other replicas drop theirs within their cache age (60 s).
    """

    def __init__(
        self,
        db: Database,
        keys: SubjectKeys,
        records: RecordStore,
        ledger: ConsentLedger,
        audit: AuditLog,
        forget: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._keys = keys
        self._records = records
        self._ledger = ledger
        self._audit = audit
        self._forget = forget
        self._clock = clock

    def export(self, subject: str, *, by: str) -> dict[str, Any]:
        """One JSON-ready document with everything held about `subject`, decrypted."""
        # The key as the database holds it now, not as this process may have cached it.
        self._keys.forget(subject)
        with self._db.read() as conn:
            cipher = self._keys.cipher(conn, subject, create=False)
            requests = conn.execute(
                sa.select(request_records)
                .where(request_records.c.subject == subject)
                .order_by(request_records.c.created_at, request_records.c.request_id)
            ).all()
            mappings = conn.execute(
                sa.select(vault_entries)
                .where(vault_entries.c.subject == subject)
                .order_by(vault_entries.c.token)
            ).all()
        vault = []
        if cipher is not None:
            for row in mappings:
                value = cipher.open(row.value_ct, row_aad(subject, row.token))
                vault.append(
                    {
                        "token": row.token,
                        "entity_type": row.entity_type,
                        "value": value,
                        "created_at": row.created_at,
                        "expires_at": row.expires_at,
                    }
                )
        document = {
            "subject": subject,
            "exported_at": self._clock(),
            "consent": self._ledger.state(subject).as_dict(),
            "consent_history": self._ledger.history(subject),
            "requests": [_record(row) for row in requests],
            "transcripts": self._records.transcripts_of(subject),
            "vault": vault,
            "audit": self._audit.entries_of(subject),
        }
        self._audit.record("export", subject, {"by": by})
        return document

    def erase(self, subject: str, *, by: str) -> dict[str, Any]:
        """Destroy the subject's data key and delete their rows; returns the receipt.

        Token counters stay (numbers only, no values): an erased token is never handed out
        again, so an old conversation can never restore someone else's value. Audit entries
        stay: they hold no values, and the chain must not break.
        """
        removed: dict[str, int] = {}
        with self._db.write() as conn:
            for name, table in (
                ("data_key", subject_keys),
                ("vault_mappings", vault_entries),
                ("transcripts", transcripts),
                ("request_records", request_records),
                ("consents", consents),
            ):
                removed[name] = int(conn.execute(sa.delete(table).where(table.c.subject == subject)).rowcount)
            erased_at = self._clock()
            seq = self._audit.append(conn, "erasure", subject, {"by": by, "removed": removed})
        self._forget(subject)
        self._db.scrub()
        return {
            "subject": subject,
            "erased_at": erased_at,
            "removed": removed,
            "data_key_destroyed": removed["data_key"] > 0,
            "audit_entry": seq,
        }


def _record(row: Any) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "created_at": row.created_at,
        "endpoint": row.endpoint,
        "model": row.model,
        "status": row.status,
        "stream": row.stream,
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "entities": row.entities,
        "storage_mode": row.storage_mode,
        "consent": row.consent,
        "policy_version": row.policy_version,
    }
