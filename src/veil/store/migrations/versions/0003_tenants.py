"""Tenants: virtual API keys, and the tenant of each stored row (its policy's retention).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TENANTED = ("request_records", "transcripts", "vault_entries")


def upgrade() -> None:
    op.create_table(
        "virtual_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("salt", sa.LargeBinary, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Double, nullable=False),
        sa.Column("revoked_at", sa.Double, nullable=True),
    )
    op.create_index("ix_virtual_keys_tenant", "virtual_keys", ["tenant"])
    for table in _TENANTED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("tenant", sa.String(64), nullable=False, server_default="default"))
        op.create_index(f"ix_{table}_tenant", table, ["tenant"])


def downgrade() -> None:
    for table in _TENANTED:
        op.drop_index(f"ix_{table}_tenant", table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("tenant")
    op.drop_table("virtual_keys")
