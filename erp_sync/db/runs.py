"""Runs, slot claims and leases: the database decides who runs (docs/architecture.md#who-decides-which-process-runs).

- A *slot claim* is a run row with `UNIQUE(integration_id, scheduled_for)`: however many schedulers fire a slot,
  one insert wins.
- A *lease* is a conditional UPDATE on the integration that succeeds only when the lease is free or expired; it
  bumps `lease_token`, the fencing token every page commit checks (`renew_lease` inside the page's transaction).
- The sweep marks runs whose lease expired as `abandoned` and frees their leases.
All of it is plain SQL that behaves the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from erp_sync.db.models import INTEGRATIONS, RUNS
from erp_sync.domain.run import RunStatus, Trigger
from erp_sync.errors import ErpSyncError


@dataclass(frozen=True)
class Lease:
    integration_id: int
    owner: str
    token: int
    run_id: int | None = None


class LeaseLostError(ErpSyncError):
    code = "LEASE_LOST"


def claim_slot(engine: Engine, integration_id: int, scheduled_for: datetime, trigger: Trigger, owner: str,
               now: datetime) -> int | None:
    """Insert the run row for a scheduled slot; None when another scheduler claimed it first."""
    try:
        with engine.begin() as conn:
            return conn.execute(insert(RUNS).values(
                integration_id=integration_id, scheduled_for=scheduled_for, trigger=trigger, status=RunStatus.CLAIMED,
                owner=owner, started_at=now, pages=0, fetched=0, inserted=0, updated=0, unchanged=0, deleted=0,
                pushed=0, conflicts=0, errors=0,
            )).inserted_primary_key[0]  # type: ignore[index]  # an INSERT's result has one
    except IntegrityError:
        return None


def open_run(engine: Engine, integration_id: int, trigger: Trigger, owner: str, now: datetime, *,
             full: bool, dry_run: bool) -> int:
    """A run row for an unscheduled trigger (API, cron endpoint, CLI)."""
    with engine.begin() as conn:
        return conn.execute(insert(RUNS).values(
            integration_id=integration_id, trigger=trigger, status=RunStatus.CLAIMED, owner=owner, started_at=now,
            full=full, dry_run=dry_run, pages=0, fetched=0, inserted=0, updated=0, unchanged=0, deleted=0,
            pushed=0, conflicts=0, errors=0,
        )).inserted_primary_key[0]  # type: ignore[index]  # an INSERT's result has one


def acquire_lease(engine: Engine, integration_id: int, owner: str, run_id: int, now: datetime,
                  ttl: timedelta) -> Lease | None:
    """Take the integration's lease if it is free or expired; None when a live run holds it."""
    integrations = INTEGRATIONS
    with engine.begin() as conn:
        result = conn.execute(
            update(integrations)
            .where(integrations.c.id == integration_id,
                   or_(integrations.c.lease_expires_at.is_(None), integrations.c.lease_expires_at < now))
            .values(lease_owner=owner, lease_expires_at=now + ttl, lease_run_id=run_id,
                    lease_token=integrations.c.lease_token + 1)
        )
        if result.rowcount != 1:
            return None
        token = conn.execute(select(integrations.c.lease_token).where(integrations.c.id == integration_id)).scalar_one()
        conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(
            status=RunStatus.RUNNING, lease_token=token, started_at=now, heartbeat_at=now))
    return Lease(integration_id, owner, token, run_id)


def active_run_id(engine: Engine, integration_id: int, now: datetime) -> int | None:
    """The run holding a live lease on the integration, if any."""
    with engine.connect() as conn:
        return conn.execute(select(INTEGRATIONS.c.lease_run_id).where(
            INTEGRATIONS.c.id == integration_id, INTEGRATIONS.c.lease_expires_at >= now)).scalar_one_or_none()


class Schedule(NamedTuple):
    """An integration's schedule and lease, as the metrics' gauges show them."""

    id: int
    name: str
    is_active: bool
    cron_expression: str
    timezone: str
    lease_expires_at: datetime | None


def schedules(engine: Engine) -> list[Schedule]:
    """Every integration's schedule and lease expiry, by id."""
    columns = [INTEGRATIONS.c[name] for name in Schedule._fields]
    with engine.connect() as conn:
        return [Schedule(*row) for row in conn.execute(select(*columns).order_by(INTEGRATIONS.c.id))]


def renew_lease(conn: Connection, lease: Lease, now: datetime, ttl: timedelta) -> None:
    """Extend the lease inside the caller's transaction; raises LeaseLostError if another run took it over or the
    integration was deleted meanwhile."""
    result = conn.execute(update(INTEGRATIONS).where(*_held(lease)).values(lease_expires_at=now + ttl))
    if result.rowcount != 1:
        raise _lease_lost(conn, lease)


def _lease_lost(conn: Connection, lease: Lease) -> LeaseLostError:
    """Why the lease could not be renewed: the integration is gone, or another run holds its lease."""
    run = f"run {lease.run_id}" if lease.run_id is not None else "the run"
    if conn.execute(select(INTEGRATIONS.c.id).where(INTEGRATIONS.c.id == lease.integration_id)).first() is None:
        return LeaseLostError(
            f"integration {lease.integration_id} was deleted while {run} was working, so the run stopped and its "
            "last page was rolled back; nothing needs doing (the integration's runs and bindings went with it)")
    return LeaseLostError(
        f"integration {lease.integration_id}: the run lost its lease (token {lease.token}); another run took "
        "over after this one stopped heartbeating. This run's page was rolled back.")


def check_lease(engine: Engine, lease: Lease, now: datetime, ttl: timedelta) -> None:
    """A fenced renewal in a transaction of its own: before a write outside the database (a push to the ERP),
    proof that the run still holds its lease. Raises LeaseLostError otherwise."""
    with engine.begin() as conn:
        renew_lease(conn, lease, now, ttl)


@dataclass(frozen=True)
class RunEnd:
    """How a run ended, as its run row records it."""

    status: str
    finished_at: datetime
    duration_ms: int
    counts: dict[str, int]
    error_code: str | None = None
    error_message: str | None = None
    details: dict[str, Any] | None = None
    watermark_after: str | None = None

    def run_values(self) -> dict[str, Any]:
        return {"status": self.status, "finished_at": self.finished_at, "duration_ms": self.duration_ms,
                "error_code": self.error_code, "error_message": self.error_message, "details": self.details,
                "watermark_after": self.watermark_after, **self.counts}


def finish(engine: Engine, lease: Lease, end: RunEnd, watermark: str | None) -> None:
    """End a run that holds its lease, in one transaction: the integration's status (and `watermark`, when given),
    the lease released and the run row, each UPDATE fenced by the lease token. Raises LeaseLostError, writing
    nothing, when another run took the lease over (or the integration was deleted)."""
    values: dict[str, Any] = {"last_status": end.status,
                              "last_run_id": lease.run_id, "lease_owner": None, "lease_expires_at": None,
                              "lease_run_id": None}
    if watermark is not None:
        values["watermark"] = watermark
    with engine.begin() as conn:
        end = _not_before_start(conn, lease.run_id, end)
        values["last_sync_at"] = end.finished_at
        result = conn.execute(update(INTEGRATIONS).where(*_held(lease)).values(**values))
        if result.rowcount != 1:
            raise _lease_lost(conn, lease)
        result = conn.execute(update(RUNS).where(RUNS.c.id == lease.run_id, RUNS.c.lease_token == lease.token)
                              .values(**end.run_values()))
        if result.rowcount != 1:
            raise _lease_lost(conn, lease)


def record_end(engine: Engine, run_id: int, end: RunEnd) -> None:
    """Record the end of a run that holds no lease (it was skipped, or lost its lease): its own run row only."""
    with engine.begin() as conn:
        update_run(conn, run_id, **_not_before_start(conn, run_id, end).run_values())


def _not_before_start(conn: Connection, run_id: int | None, end: RunEnd) -> RunEnd:
    """The end as it is recorded: never before the run's start. The injected clock may go back while a run runs (an
    operator setting the system time back, a VM resumed), and then says the run finished before it started; runs,
    monitoring, metrics and the duration histogram would show a negative duration, so the run is recorded as having
    finished when it started, with a duration of 0."""
    started_at = conn.execute(select(RUNS.c.started_at).where(RUNS.c.id == run_id)).scalar()
    if started_at is None or end.finished_at >= started_at:
        return end
    return replace(end, finished_at=started_at, duration_ms=0)


def _held(lease: Lease) -> tuple[Any, ...]:
    return (INTEGRATIONS.c.id == lease.integration_id, INTEGRATIONS.c.lease_token == lease.token,
            INTEGRATIONS.c.lease_owner == lease.owner)


def update_run(conn: Connection, run_id: int, **values: Any) -> None:
    conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))


def add_counts(conn: Connection, run_id: int, now: datetime, counts: dict[str, int]) -> None:
    """Add page counters to the run row (in the page's transaction) and record the heartbeat."""
    values: dict[str, Any] = {name: getattr(RUNS.c, name) + amount for name, amount in counts.items() if amount}
    values["heartbeat_at"] = now
    conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(**values))


def get_run(engine: Engine, run_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(RUNS).where(RUNS.c.id == run_id)).mappings().one_or_none()
        return dict(row) if row else None


def list_runs(engine: Engine, integration_id: int | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    with engine.connect() as conn:
        query = select(RUNS)
        counter = select(func.count()).select_from(RUNS)
        if integration_id is not None:
            query = query.where(RUNS.c.integration_id == integration_id)
            counter = counter.where(RUNS.c.integration_id == integration_id)
        rows = conn.execute(query.order_by(RUNS.c.id.desc()).limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows], conn.execute(counter).scalar_one()


def latest_run(engine: Engine) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(select(RUNS).where(RUNS.c.status != RunStatus.CLAIMED)
                           .order_by(RUNS.c.id.desc()).limit(1)).mappings().one_or_none()
        return dict(row) if row else None


CLAIM_GRACE = timedelta(minutes=5)


def sweep_stale(engine: Engine, now: datetime) -> list[int]:
    """Mark runs whose lease expired as abandoned and free those leases; returns the abandoned run ids."""
    integrations = INTEGRATIONS
    with engine.begin() as conn:
        stale = conn.execute(
            select(RUNS.c.id, RUNS.c.started_at)
            .select_from(RUNS.join(integrations, RUNS.c.integration_id == integrations.c.id))
            .where(or_(
                and_(RUNS.c.status == RunStatus.RUNNING,
                     or_(integrations.c.lease_expires_at.is_(None), integrations.c.lease_expires_at < now,
                         integrations.c.lease_token != RUNS.c.lease_token)),
                # A claimed run is between its insert and its lease (two transactions): only one left there long
                # after its process could still take the lease is stale, never one a concurrent trigger just opened.
                and_(RUNS.c.status == RunStatus.CLAIMED, RUNS.c.started_at < now - CLAIM_GRACE)))
        ).all()
        for run_id, started_at in stale:
            ended = max(now, started_at)  # never before its start, as in `_not_before_start`
            conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(
                status=RunStatus.ABANDONED, finished_at=ended, error_code="RUN_ABANDONED",
                duration_ms=int((ended - started_at).total_seconds() * 1000),
                error_message="the run stopped heartbeating (process killed or stuck) and its lease expired; "
                              "the next run re-reads what it had not finished"))
        conn.execute(update(integrations).where(integrations.c.lease_expires_at < now)
                     .values(lease_owner=None, lease_expires_at=None, lease_run_id=None))
    return [run_id for run_id, _ in stale]


def slot_taken(engine: Engine, integration_id: int, scheduled_for: datetime) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(RUNS.c.id).where(
            RUNS.c.integration_id == integration_id, RUNS.c.scheduled_for == scheduled_for)).first() is not None


def record_missed(engine: Engine, integration_id: int, scheduled_for: datetime, now: datetime) -> None:
    """A slot nobody ran (the scheduler was down, outside the catch-up grace): a skipped run says so."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(RUNS).values(
                integration_id=integration_id, scheduled_for=scheduled_for, trigger=Trigger.SCHEDULE,
                status=RunStatus.SKIPPED, started_at=now, finished_at=now, duration_ms=0, error_code=None,
                error_message="missed: no scheduler was running at this slot and it is past the catch-up grace",
                pages=0, fetched=0, inserted=0, updated=0, unchanged=0, deleted=0, pushed=0, conflicts=0, errors=0))
    except IntegrityError:
        pass
