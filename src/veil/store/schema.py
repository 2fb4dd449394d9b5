"""The tables, as SQLAlchemy Core sees them. Alembic's migrations create them; this is
what the code reads and writes through.

Times are seconds since the epoch (float). Nothing here holds a raw value: `sealed` and
`value_ct` columns are AES-GCM ciphertexts under the subject's data key, `value_index` is
a keyed hash, and `subject` is already a pseudonym (a keyed hash of the end user or key).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# Secrets of the installation itself (the key scopes are hashed with), wrapped like data keys.
installation_secrets = sa.Table(
    "installation_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("master_key_id", sa.String(32), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
)

# One data key per data subject, wrapped by a master key. Destroying the row is erasure.
subject_keys = sa.Table(
    "subject_keys",
    metadata,
    sa.Column("subject", sa.String(80), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("master_key_id", sa.String(32), nullable=False, index=True),
    sa.Column("created_at", sa.Double, nullable=False),
)

vault_entries = sa.Table(
    "vault_entries",
    metadata,
    # The tenant whose policy (retention included) governs the row.
    sa.Column("tenant", sa.String(64), nullable=False, server_default="default", index=True),
    sa.Column("subject", sa.String(80), primary_key=True),
    sa.Column("token", sa.String(96), primary_key=True),
    sa.Column("value_index", sa.LargeBinary, nullable=False),
    sa.Column("value_ct", sa.LargeBinary, nullable=False),
    sa.Column("entity_type", sa.String(64), nullable=False),
    sa.Column("ordinal", sa.Integer, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("expires_at", sa.Double, nullable=False, index=True),
    sa.UniqueConstraint("subject", "value_index", name="uq_vault_entries_subject_value"),
)

# Apart from the entries, so purging expired mappings never lowers a counter: a token is
# never handed out twice for two values.
vault_counters = sa.Table(
    "vault_counters",
    metadata,
    sa.Column("subject", sa.String(80), primary_key=True),
    sa.Column("entity_type", sa.String(64), primary_key=True),
    sa.Column("last_ordinal", sa.Integer, nullable=False),
)

request_records = sa.Table(
    "request_records",
    metadata,
    # The tenant whose policy (retention included) governs the row.
    sa.Column("tenant", sa.String(64), nullable=False, server_default="default", index=True),
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(80), nullable=False, index=True),
    sa.Column("created_at", sa.Double, nullable=False, index=True),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("model", sa.String(200), nullable=True),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("stream", sa.Boolean, nullable=False),
    sa.Column("prompt_tokens", sa.Integer, nullable=True),
    sa.Column("completion_tokens", sa.Integer, nullable=True),
    # {"request": {"EMAIL_ADDRESS": 2}, "response": {...}}: counts, never values.
    sa.Column("entities", sa.JSON, nullable=False),
    sa.Column("storage_mode", sa.String(16), nullable=False),
    # The consent state the request was handled under, and the policy version that decided it.
    sa.Column("consent", sa.JSON, nullable=True),
    sa.Column("policy_version", sa.String(64), nullable=True),
)

transcripts = sa.Table(
    "transcripts",
    metadata,
    # The tenant whose policy (retention included) governs the row.
    sa.Column("tenant", sa.String(64), nullable=False, server_default="default", index=True),
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(80), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.Double, nullable=False, index=True),
)

# The consent ledger: append-only; a subject's state for a purpose is its latest row.
consents = sa.Table(
    "consents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(80), nullable=False),
    sa.Column("purpose", sa.String(40), nullable=False),
    sa.Column("granted", sa.Boolean, nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("recorded_at", sa.Double, nullable=False),
    sa.Index("ix_consents_subject_purpose", "subject", "purpose", "id"),
)

# The audit log: a hash chain. `body` is the canonical JSON of the whole entry (its seq,
# time, kind, subject, data and the previous entry's hash); `hash` is SHA-256 of `body`.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("recorded_at", sa.Double, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(80), nullable=True, index=True),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

# The signed head of the chain (one row), rewritten with every append, so a truncated tail
# or a rewritten history shows; and a signed checkpoint kept every so many entries.
audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(64), nullable=False),
)

audit_checkpoints = sa.Table(
    "audit_checkpoints",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.Double, nullable=False),
)

# Virtual API keys: each maps to a tenant. Only a salted hash of the secret part is kept.
virtual_keys = sa.Table(
    "virtual_keys",
    metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(64), nullable=False, index=True),
    sa.Column("salt", sa.LargeBinary, nullable=False),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Double, nullable=False),
    sa.Column("revoked_at", sa.Double, nullable=True),
)
