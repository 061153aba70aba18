"""Bindings remember the hash of the ERP's own text, so unchanged rows are skipped before mapping.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

A nullable column: existing bindings have no source hash yet, so their rows are mapped once more on the next run
(and compared by their value hash as before), which stores it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("erp_sync_bindings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("erp_sync_bindings", schema=None) as batch_op:
        batch_op.drop_column("source_hash")
