"""Operations: run totals for the metrics, maintenance claims, retries, auto-pause and notifications.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06

- `erp_sync_run_totals` and `erp_sync_run_durations`: what every run that ended added up to, per
  integration (the metrics' counters and duration histogram). Retention never deletes them. Runs that ended
  before this migration are added here, set-based, and marked `erp_sync_runs.totals_counted`.
- `erp_sync_maintenance_claims`: one row per claimed slot of a maintenance task (the daily retention cleanup),
  so one replica runs it.
- `erp_sync_notify_state`: the last notification delivery of each integration.
- `erp_sync_runs.retry_of`: a retry attempt names the failed run it repeats; an index on (integration_id, id)
  walks each integration's runs from the newest: its latest runs, latest success and failures since; one on
  started_at serves a time range across all integrations.
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
        batch_op.create_index("ix_erp_sync_runs_started", ["started_at"], unique=False)
    with op.batch_alter_table("erp_sync_integrations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("notifications_encrypted", sa.Text(), nullable=True))
    _count_the_history()


# The run statuses a run ends with, and those that are executions; the duration buckets' upper bounds in seconds,
# as erp_sync.db.totals spells them (written out here: a migration must not change when the code does).
_ENDED = "('succeeded', 'succeeded_with_errors', 'failed', 'abandoned', 'skipped')"
_EXECUTIONS = "('succeeded', 'succeeded_with_errors', 'failed', 'abandoned')"
_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)


def _count_the_history() -> None:
    """Add the runs that ended before this migration to the totals in three set-based statements, rather than
    leaving a million rows to the first fold. Only the constants above are written into the SQL."""
    kinds = ("inserted", "updated", "unchanged", "deleted", "pushed", "errors")
    op.execute(
        "INSERT INTO erp_sync_run_totals (integration_id, trigger, status, runs, " + ", ".join(kinds) + ", "  # noqa: S608
        "duration_ms, last_finished_at) SELECT integration_id, trigger, status, COUNT(*), "
        + ", ".join(f"SUM(COALESCE({kind}, 0))" for kind in kinds) + ", SUM(COALESCE(duration_ms, 0)), "
        f"MAX(finished_at) FROM erp_sync_runs WHERE status IN {_ENDED} GROUP BY integration_id, trigger, status")
    bucket = " ".join(f"WHEN COALESCE(duration_ms, 0) <= {int(bound * 1000)} THEN '{bound!r}'" for bound in _BUCKETS)
    op.execute(
        f"INSERT INTO erp_sync_run_durations (integration_id, le, runs) SELECT integration_id, CASE {bucket} "  # noqa: S608
        f"ELSE '+Inf' END, COUNT(*) FROM erp_sync_runs WHERE status IN {_EXECUTIONS} GROUP BY 1, 2")
    op.execute(f"UPDATE erp_sync_runs SET totals_counted = TRUE WHERE status IN {_ENDED}")  # noqa: S608


def downgrade() -> None:
    with op.batch_alter_table("erp_sync_integrations", schema=None) as batch_op:
        batch_op.drop_column("notifications_encrypted")
        batch_op.drop_column("paused_reason")
    with op.batch_alter_table("erp_sync_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_erp_sync_runs_started")
        batch_op.drop_index("ix_erp_sync_runs_integration_id")
        batch_op.drop_index("ix_erp_sync_runs_totals_counted")
        batch_op.drop_column("totals_counted")
        batch_op.drop_column("retry_of")
    op.drop_table("erp_sync_notify_state")
    op.drop_table("erp_sync_maintenance_claims")
    op.drop_table("erp_sync_run_durations")
    op.drop_table("erp_sync_run_totals")
