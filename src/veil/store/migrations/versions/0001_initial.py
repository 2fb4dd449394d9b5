"""The privacy store: installation secrets, subject keys, vault, request records, transcripts.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "installation_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("master_key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_table(
        "subject_keys",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("wrapped", sa.LargeBinary, nullable=False),
        sa.Column("master_key_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("ix_subject_keys_master_key_id", "subject_keys", ["master_key_id"])
    op.create_table(
        "vault_entries",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("token", sa.String(96), primary_key=True),
        sa.Column("value_index", sa.LargeBinary, nullable=False),
        sa.Column("value_ct", sa.LargeBinary, nullable=False),
        sa.Column("entity_type", sa.String(64), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("expires_at", sa.Double, nullable=False),
        sa.UniqueConstraint("subject", "value_index", name="uq_vault_entries_subject_value"),
    )
    op.create_index("ix_vault_entries_expires_at", "vault_entries", ["expires_at"])
    op.create_table(
        "vault_counters",
        sa.Column("subject", sa.String(80), primary_key=True),
        sa.Column("entity_type", sa.String(64), primary_key=True),
        sa.Column("last_ordinal", sa.Integer, nullable=False),
    )
    op.create_table(
        "request_records",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("endpoint", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("stream", sa.Boolean, nullable=False),
        sa.Column("prompt_tokens", sa.Integer, nullable=True),
        sa.Column("completion_tokens", sa.Integer, nullable=True),
        sa.Column("entities", sa.JSON, nullable=False),
        sa.Column("storage_mode", sa.String(16), nullable=False),
    )
    op.create_index("ix_request_records_subject", "request_records", ["subject"])
    op.create_index("ix_request_records_created_at", "request_records", ["created_at"])
    op.create_table(
        "transcripts",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("sealed", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
    )
    op.create_index("ix_transcripts_subject", "transcripts", ["subject"])
    op.create_index("ix_transcripts_created_at", "transcripts", ["created_at"])


def downgrade() -> None:
    for table in (
        "transcripts",
        "request_records",
        "vault_counters",
        "vault_entries",
        "subject_keys",
        "installation_secrets",
    ):
        op.drop_table(table)
