"""The tables erp-sync owns, all prefixed `erp_sync_` so they can live inside the application's own database.

Integrations say what should run (and carry the run lease); runs record what did run, one row per scheduled slot
at most; bindings link ERP records to local rows with the hash of the values last synced; conflicts and row
errors keep what a run could not reconcile, so nothing is lost silently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from erp_sync.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Integration(Base):
    __tablename__ = "erp_sync_integrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    connector: Mapped[str] = mapped_column(String(20))
    connection: Mapped[dict[str, Any]] = mapped_column(JSON)
    password_encrypted: Mapped[str | None] = mapped_column(Text)
    source: Mapped[dict[str, Any]] = mapped_column(JSON)
    target_schema: Mapped[str | None] = mapped_column(String(63))
    target_table: Mapped[str] = mapped_column(String(63))
    create_if_missing: Mapped[bool] = mapped_column(Boolean, default=False)
    mappings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    keys: Mapped[list[str]] = mapped_column(JSON)
    cron_expression: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    direction: Mapped[str] = mapped_column(String(10), default="one_way")
    conflict_policy: Mapped[str] = mapped_column(String(20), default="erp_wins")
    delete_policy: Mapped[str] = mapped_column(String(20), default="ignore")
    soft_delete_column: Mapped[str | None] = mapped_column(String(63))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    watermark: Mapped[str | None] = mapped_column(String(32))
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(String(30))
    last_run_id: Mapped[int | None] = mapped_column(Integer)

    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[int] = mapped_column(BigInteger, default=0)
    lease_run_id: Mapped[int | None] = mapped_column(Integer)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a slot before it was never missed
    paused_reason: Mapped[str | None] = mapped_column(Text)  # why erp-sync itself made it inactive (0005)
    notifications_encrypted: Mapped[str | None] = mapped_column(Text)  # its notification targets, encrypted (0005)


class Run(Base):
    __tablename__ = "erp_sync_runs"
    __table_args__ = (
        UniqueConstraint("integration_id", "scheduled_for", name="uq_erp_sync_runs_slot"),
        Index("ix_erp_sync_runs_integration_started", "integration_id", "started_at"),
        Index("ix_erp_sync_runs_status", "status"),
        Index("ix_erp_sync_runs_integration_id", "integration_id", "id"),  # 0005: latest runs first
        Index("ix_erp_sync_runs_started", "started_at"),  # 0005: a time range across integrations
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("erp_sync_integrations.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20))
    scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(30))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(200))
    lease_token: Mapped[int | None] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    pushed: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    watermark_before: Mapped[str | None] = mapped_column(String(32))
    watermark_after: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Migration 0005: a retry attempt names the failed run it repeats; a finished run is added to the totals once.
    retry_of: Mapped[int | None] = mapped_column(Integer)
    totals_counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)


class Binding(Base):
    """One per imported ERP record. No foreign key to the integration (migration 0003): on PostgreSQL its check
    slowed first loads (docs/performance.md#no-foreign-key-on-bindings). Instead, deleting an integration deletes
    its row first and then its bindings (`IntegrationRepository.delete`), and every transaction that adds bindings
    renews the run's lease, an update of that same integration row: a run whose integration was deleted meanwhile
    fails and rolls its bindings back."""

    __tablename__ = "erp_sync_bindings"
    __table_args__ = (Index("ix_erp_sync_bindings_local", "integration_id", "local_key"),)

    integration_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    erp_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    local_key: Mapped[str] = mapped_column(String(500))
    row_hash: Mapped[str] = mapped_column(String(64))
    source_hash: Mapped[str | None] = mapped_column(String(64))  # the ERP text's hash at the last import
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime)
    push_state: Mapped[str | None] = mapped_column(String(20))
    push_error: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(64))
    # A tombstone: a complete scan no longer found the ERP record. The row is never pushed or re-created in the ERP.
    erp_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erp_version: Mapped[str | None] = mapped_column(Text)  # a version the ERP demands back on update (NAV's Key)


class Conflict(Base):
    __tablename__ = "erp_sync_conflicts"
    __table_args__ = (Index("ix_erp_sync_conflicts_integration", "integration_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("erp_sync_integrations.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("erp_sync_runs.id", ondelete="SET NULL"))
    erp_key: Mapped[str] = mapped_column(String(200))
    local_key: Mapped[str] = mapped_column(String(500))
    policy: Mapped[str] = mapped_column(String(20))
    resolution: Mapped[str] = mapped_column(String(20))
    local_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    erp_values: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RowError(Base):
    __tablename__ = "erp_sync_row_errors"
    __table_args__ = (Index("ix_erp_sync_row_errors_run", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("erp_sync_integrations.id", ondelete="CASCADE"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("erp_sync_runs.id", ondelete="CASCADE"))
    page: Mapped[int | None] = mapped_column(Integer)
    erp_key: Mapped[str | None] = mapped_column(String(200))
    field: Mapped[str | None] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RunTotal(Base):
    """What every run that ended added up to, per integration, trigger and status: the source of the metrics'
    counters. Retention deletes runs, never these rows, so a counter never goes down."""

    __tablename__ = "erp_sync_run_totals"

    integration_id: Mapped[int] = mapped_column(ForeignKey("erp_sync_integrations.id", ondelete="CASCADE"),
                                                primary_key=True)
    trigger: Mapped[str] = mapped_column(String(20), primary_key=True)
    status: Mapped[str] = mapped_column(String(30), primary_key=True)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    inserted: Mapped[int] = mapped_column(BigInteger, default=0)
    updated: Mapped[int] = mapped_column(BigInteger, default=0)
    unchanged: Mapped[int] = mapped_column(BigInteger, default=0)
    deleted: Mapped[int] = mapped_column(BigInteger, default=0)
    pushed: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RunDurationBucket(Base):
    """How many executions of an integration ended within each duration bound (`le`, in seconds as Prometheus
    spells it, "+Inf" for the rest); not cumulative: each execution adds to exactly one bucket."""

    __tablename__ = "erp_sync_run_durations"

    integration_id: Mapped[int] = mapped_column(ForeignKey("erp_sync_integrations.id", ondelete="CASCADE"),
                                                primary_key=True)
    le: Mapped[str] = mapped_column(String(16), primary_key=True)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)


class MaintenanceClaim(Base):
    """A claimed slot of a maintenance task (the daily retention cleanup): one insert wins, like a run's slot."""

    __tablename__ = "erp_sync_maintenance_claims"

    task: Mapped[str] = mapped_column(String(40), primary_key=True)
    slot: Mapped[str] = mapped_column(String(20), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class NotificationState(Base):
    """The last notification delivery of an integration, and the alerts already announced."""

    __tablename__ = "erp_sync_notify_state"

    integration_id: Mapped[int] = mapped_column(ForeignKey("erp_sync_integrations.id", ondelete="CASCADE"),
                                                primary_key=True)
    event: Mapped[str | None] = mapped_column(String(20))
    target: Mapped[str | None] = mapped_column(String(500))  # redacted
    ok: Mapped[bool | None] = mapped_column(Boolean)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerts: Mapped[list[str] | None] = mapped_column(JSON)


# The models' Core tables, for Core statements (SQLAlchemy types a model's `__table__` as any FromClause).
INTEGRATIONS = cast(Table, Integration.__table__)
RUNS = cast(Table, Run.__table__)
BINDINGS = cast(Table, Binding.__table__)
CONFLICTS = cast(Table, Conflict.__table__)
ROW_ERRORS = cast(Table, RowError.__table__)
RUN_TOTALS = cast(Table, RunTotal.__table__)
RUN_DURATION_BUCKETS = cast(Table, RunDurationBucket.__table__)
MAINTENANCE_CLAIMS = cast(Table, MaintenanceClaim.__table__)
NOTIFICATION_STATE = cast(Table, NotificationState.__table__)
