"""Bindings lose their foreign key to the integration, whose check slowed first loads on PostgreSQL (docs/performance.md).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

What the key guaranteed stays guaranteed by the code (see `erp_sync.db.models.Binding`): deleting an integration
deletes its row and then its bindings, and every transaction that adds bindings renews the run's lease on that
integration row, so it fails once the integration is gone. No data changes. On SQLite the table is rebuilt (a copy
of every binding, once); on PostgreSQL the constraint is dropped in place.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_erp_sync_bindings_integration_id_erp_sync_integrations"


def upgrade() -> None:
    with op.batch_alter_table("erp_sync_bindings", schema=None) as batch_op:
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")


def downgrade() -> None:
    op.execute("DELETE FROM erp_sync_bindings WHERE integration_id NOT IN (SELECT id FROM erp_sync_integrations)")
    with op.batch_alter_table("erp_sync_bindings", schema=None) as batch_op:
        batch_op.create_foreign_key(FOREIGN_KEY, "erp_sync_integrations", ["integration_id"], ["id"],
                                    ondelete="CASCADE")
