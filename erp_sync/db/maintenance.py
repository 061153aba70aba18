"""Maintenance in the database: claimed slots of maintenance tasks, and deleting old runs in small batches.

A maintenance slot (the daily retention cleanup of one day) is claimed like a scheduled run's slot: an INSERT into
a table whose primary key is (task, slot), so however many replicas try, one insert wins and only its process
does the work.

Old runs go a batch at a time, each batch its own short transaction: first the batch's row errors and conflicts
(a few thousand rows per transaction), then the runs. Runs that are still being written, are not yet in the
totals, or are kept on purpose are never in a batch; the caller says which to keep.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, delete, func, insert, inspect, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from erp_sync.db.models import CONFLICTS, INTEGRATIONS, MAINTENANCE_CLAIMS, ROW_ERRORS, RUNS
from erp_sync.db.stats import SUCCESSES
from erp_sync.db.totals import ENDED

RUN_BATCH = 1000
CHILD_BATCH = 5000


@dataclass
class Deleted:
    runs: int = 0
    row_errors: int = 0
    conflicts: int = 0
    claims: int = 0


def claim(engine: Engine, task: str, slot: str, owner: str, now: datetime, stale_after: timedelta) -> bool:
    """Claim a maintenance slot; False when another process claimed it first. A claim whose work never finished
    (its process died, or the database failed it) is taken over once it is older than `stale_after`."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(MAINTENANCE_CLAIMS).values(task=task, slot=slot, owner=owner, claimed_at=now))
    except IntegrityError:
        with engine.begin() as conn:
            return bool(conn.execute(update(MAINTENANCE_CLAIMS).where(
                MAINTENANCE_CLAIMS.c.task == task, MAINTENANCE_CLAIMS.c.slot == slot,
                MAINTENANCE_CLAIMS.c.finished_at.is_(None), MAINTENANCE_CLAIMS.c.claimed_at < now - stale_after)
                .values(owner=owner, claimed_at=now)).rowcount)
    return True


def finish_claim(engine: Engine, task: str, slot: str, now: datetime, result: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(update(MAINTENANCE_CLAIMS)
                     .where(MAINTENANCE_CLAIMS.c.task == task, MAINTENANCE_CLAIMS.c.slot == slot)
                     .values(finished_at=now, result=result))


def claims(engine: Engine, task: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(MAINTENANCE_CLAIMS).where(MAINTENANCE_CLAIMS.c.task == task)
                                              .order_by(MAINTENANCE_CLAIMS.c.slot)).mappings()]


def kept_runs(engine: Engine) -> set[int]:
    """Runs never deleted: each integration's latest run, its latest success and the run it names as its last."""
    latest = select(func.max(RUNS.c.id)).where(RUNS.c.integration_id == INTEGRATIONS.c.id).scalar_subquery()
    latest_ok = (select(func.max(RUNS.c.id))
                 .where(RUNS.c.integration_id == INTEGRATIONS.c.id, RUNS.c.status.in_(SUCCESSES)).scalar_subquery())
    with engine.connect() as conn:
        rows = conn.execute(select(latest, latest_ok, INTEGRATIONS.c.last_run_id)).all()
    return {run_id for row in rows for run_id in row if run_id is not None}


def delete_runs_before(engine: Engine, cutoff: datetime, slot_cutoff: datetime, keep: Collection[int],
                       deleted: Deleted) -> None:
    """Delete runs that started before `cutoff`, a batch at a time, with their row errors and conflicts. Slot claims
    (scheduled runs) whose slot is after `slot_cutoff`, runs not yet ended or not yet in the totals, and `keep`
    stay."""
    while True:
        batch = _next_batch(engine, cutoff, slot_cutoff, keep)
        if not batch:
            return
        deleted.row_errors += _delete_children(engine, ROW_ERRORS, batch)
        deleted.conflicts += _delete_children(engine, CONFLICTS, batch)
        with engine.begin() as conn:
            deleted.runs += conn.execute(delete(RUNS).where(RUNS.c.id.in_(batch), RUNS.c.status.in_(ENDED))).rowcount
        if len(batch) < RUN_BATCH:
            return


def _next_batch(engine: Engine, cutoff: datetime, slot_cutoff: datetime, keep: Collection[int]) -> list[int]:
    query = (select(RUNS.c.id)
             .where(RUNS.c.started_at < cutoff, RUNS.c.status.in_(ENDED), RUNS.c.totals_counted.is_(True),
                    or_(RUNS.c.scheduled_for.is_(None), RUNS.c.scheduled_for < slot_cutoff))
             .order_by(RUNS.c.id).limit(RUN_BATCH))
    if keep:
        query = query.where(RUNS.c.id.not_in(sorted(keep)))
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())


def _delete_children(engine: Engine, table: Table, run_ids: list[int]) -> int:
    """Delete the rows of `table` that belong to these runs, a few thousand per transaction."""
    total = 0
    while True:
        with engine.begin() as conn:
            chunk = select(table.c.id).where(table.c.run_id.in_(run_ids)).limit(CHILD_BATCH).scalar_subquery()
            count = conn.execute(delete(table).where(table.c.id.in_(chunk))).rowcount
        total += count
        if count < CHILD_BATCH:
            return total


def delete_claims_before(engine: Engine, cutoff: datetime) -> int:
    with engine.begin() as conn:
        return int(conn.execute(delete(MAINTENANCE_CLAIMS).where(MAINTENANCE_CLAIMS.c.claimed_at < cutoff)).rowcount)


def schema_revision(engine: Engine) -> str | None:
    """The schema revision Alembic recorded in this database (None before the first migration)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        versions = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return ",".join(versions) or None
