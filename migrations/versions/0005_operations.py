"""Operations: run totals for the metrics, maintenance claims, retries, auto-pause and notifications.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

- `erp_sync_run_totals` and `erp_sync_run_durations`: what every run that ended added up to, per
  integration (the metrics' counters and duration histogram). Retention never deletes them. Runs that ended
  before this migration are added by the first fold (`erp_sync_runs.totals_counted` starts false).
- `erp_sync_maintenance_claims`: one row per claimed slot of a maintenance task (the daily retention cleanup),
  so one replica runs it.
- `erp_sync_notify_state`: the last notification delivery of each integration.
- `erp_sync_runs.retry_of`: a retry attempt names the failed run it repeats; an index on (integration_id, id)
  walks each integration's runs from the newest: its latest runs, latest success and failures since.
- `erp_sync_integrations.paused_reason` and `notifications_encrypted`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from erp_sync.db.types import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _integration_fk(name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["integration_id"], ["erp_sync_integrations.id"], ondelete="CASCADE",
                                   name=f"fk_{name}_integration_id_erp_sync_integrations")


def upgrade() -> None:
    counters = [sa.Column(name, sa.BigInteger(), nullable=False) for name in
                ("runs", "inserted", "updated", "unchanged", "deleted", "pushed", "errors", "duration_ms")]
    op.create_table(
        "erp_sync_run_totals",
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        *counters,
        sa.Column("last_finished_at", UTCDateTime(timezone=True), nullable=True),
        _integration_fk("erp_sync_run_totals"),
        sa.PrimaryKeyConstraint("integration_id", "trigger", "status", name="pk_erp_sync_run_totals"),
    )
    op.create_table(
        "erp_sync_run_durations",
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("le", sa.String(16), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        _integration_fk("erp_sync_run_durations"),
        sa.PrimaryKeyConstraint("integration_id", "le", name="pk_erp_sync_run_durations"),
    )
    op.create_table(
        "erp_sync_maintenance_claims",
        sa.Column("task", sa.String(40), nullable=False),
        sa.Column("slot", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("claimed_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("task", "slot", name="pk_erp_sync_maintenance_claims"),
    )
    op.create_table(
        "erp_sync_notify_state",
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(20), nullable=True),
        sa.Column("target", sa.String(500), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("alerts", sa.JSON(), nullable=True),
        _integration_fk("erp_sync_notify_state"),
        sa.PrimaryKeyConstraint("integration_id", name="pk_erp_sync_notify_state"),
    )
    with op.batch_alter_table("erp_sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_of", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("totals_counted", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_erp_sync_runs_totals_counted", ["totals_counted"], unique=False)
        batch_op.create_index("ix_erp_sync_runs_integration_id", ["integration_id", "id"], unique=False)
    with op.batch_alter_table("erp_sync_integrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("notifications_encrypted", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("erp_sync_integrations", schema=None) as batch_op:
        batch_op.drop_column("notifications_encrypted")
        batch_op.drop_column("paused_reason")
    with op.batch_alter_table("erp_sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_erp_sync_runs_integration_id")
        batch_op.drop_index("ix_erp_sync_runs_totals_counted")
        batch_op.drop_column("totals_counted")
        batch_op.drop_column("retry_of")
    op.drop_table("erp_sync_notify_state")
    op.drop_table("erp_sync_maintenance_claims")
    op.drop_table("erp_sync_run_durations")
    op.drop_table("erp_sync_run_totals")
