"""Bindings keep a tombstone when the ERP deletes a record, and the ERP's record version; integrations remember
when they last became active.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

- `erp_sync_bindings.erp_deleted_at`: set by a complete scan that no longer finds the ERP record, instead of
  deleting the binding. A tombstoned row is never a local change to push, and never re-created in the ERP.
- `erp_sync_bindings.erp_version`: a version token some ERPs hand out with each record and demand back on update
  (Dynamics NAV's `Key`); null for SoftOne.
- `erp_sync_integrations.activated_at`: when the integration last became active. A scheduled slot before it was
  never missed. Existing integrations get their `created_at`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from erp_sync.db.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("erp_sync_bindings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erp_deleted_at", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("erp_version", sa.Text(), nullable=True))
    with op.batch_alter_table("erp_sync_integrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activated_at", UTCDateTime(timezone=True), nullable=True))
    op.execute("UPDATE erp_sync_integrations SET activated_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("erp_sync_integrations", schema=None) as batch_op:
        batch_op.drop_column("activated_at")
    op.execute("DELETE FROM erp_sync_bindings WHERE erp_deleted_at IS NOT NULL")
    with op.batch_alter_table("erp_sync_bindings", schema=None) as batch_op:
        batch_op.drop_column("erp_version")
        batch_op.drop_column("erp_deleted_at")
