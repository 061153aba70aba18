"""Run statistics computed by the database: per integration, counts, rates, durations and streaks over a time range.

Nothing here loads a run history into Python: each function is one grouped query whose answer has a row per
integration (or ten per integration for the recent runs), however many runs there are, read without holding
SQLite's write lock (`erp_sync.db.reading`). An *execution* is a run that did work and ended (succeeded,
succeeded with errors, failed, abandoned); skipped runs and missed slots are not executions. The p95 is the
nearest rank, `ceil(0.95 n)`, written in integer arithmetic so that SQLite and PostgreSQL compute the same value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select

from erp_sync.db.models import INTEGRATIONS, RUNS
from erp_sync.db.reading import reader
from erp_sync.domain.run import RunStatus

SUCCESSES = (RunStatus.SUCCEEDED.value, RunStatus.SUCCEEDED_WITH_ERRORS.value)
FAILURES = (RunStatus.FAILED.value, RunStatus.ABANDONED.value)
EXECUTIONS = SUCCESSES + FAILURES
RECENT_STATUSES = (*EXECUTIONS, RunStatus.RUNNING.value)


@dataclass(frozen=True)
class IntegrationFacts:
    """What the integrations table and its latest successful run say about one integration."""

    id: int
    name: str
    is_active: bool
    cron_expression: str
    timezone: str
    created_at: datetime
    activated_at: datetime | None
    last_success_id: int | None
    last_success_at: datetime | None


@dataclass(frozen=True)
class RangeStats:
    """One integration's executions that started within the range."""

    total: int
    successes: int
    failures: int
    average_ms: float | None
    first_failure_at: datetime | None
    first_long_at: datetime | None
    abandoned: int
    first_abandoned_at: datetime | None
    last_abandoned_id: int | None


NO_RUNS = RangeStats(0, 0, 0, None, None, None, 0, None, None)


@dataclass(frozen=True)
class Streak:
    """The failed or abandoned executions since the integration's last success."""

    failures: int
    since: datetime | None


def _one(column: Any, integration_id: int | None) -> tuple[Any, ...]:
    """The condition that keeps one integration's rows, or none when `integration_id` is None (all of them)."""
    return () if integration_id is None else (column == integration_id,)


def _last_success_id() -> Any:
    inner = RUNS.alias("ok")
    return (select(func.max(inner.c.id))
            .where(inner.c.integration_id == INTEGRATIONS.c.id, inner.c.status.in_(SUCCESSES))
            .scalar_subquery())


def integration_facts(engine: Engine, integration_id: int | None = None) -> list[IntegrationFacts]:
    """Every integration (or one), by id, with its latest successful run (found through the index, one seek each)."""
    last_ok = _last_success_id().label("last_success_id")
    listed = select(INTEGRATIONS.c.id, INTEGRATIONS.c.name, INTEGRATIONS.c.is_active,
                    INTEGRATIONS.c.cron_expression, INTEGRATIONS.c.timezone, INTEGRATIONS.c.created_at,
                    INTEGRATIONS.c.activated_at, last_ok).where(
        *_one(INTEGRATIONS.c.id, integration_id)
    ).cte("listed").prefix_with("MATERIALIZED")
    query = (select(listed, RUNS.c.finished_at)
             .select_from(listed.outerjoin(RUNS, RUNS.c.id == listed.c.last_success_id))
             .order_by(listed.c.id))
    with reader(engine).connect() as conn:
        return [IntegrationFacts(r.id, r.name, bool(r.is_active), r.cron_expression, r.timezone, r.created_at,
                                 r.activated_at, r.last_success_id, r.finished_at)
                for r in conn.execute(query)]


def range_stats(engine: Engine, since: datetime, long_ms: int,
                integration_id: int | None = None) -> dict[int, RangeStats]:
    """Per integration, its executions that started at or after `since`."""
    failed = RUNS.c.status.in_(FAILURES)
    abandoned = RUNS.c.status == RunStatus.ABANDONED.value
    query = (select(
        RUNS.c.integration_id,
        func.count().label("total"),
        func.sum(case((RUNS.c.status.in_(SUCCESSES), 1), else_=0)).label("successes"),
        func.sum(case((failed, 1), else_=0)).label("failures"),
        func.avg(RUNS.c.duration_ms).label("average_ms"),
        func.min(case((failed, RUNS.c.started_at))).label("first_failure_at"),
        func.min(case((RUNS.c.duration_ms > long_ms, RUNS.c.started_at))).label("first_long_at"),
        func.sum(case((abandoned, 1), else_=0)).label("abandoned"),
        func.min(case((abandoned, RUNS.c.started_at))).label("first_abandoned_at"),
        func.max(case((abandoned, RUNS.c.id))).label("last_abandoned_id"),
    ).where(RUNS.c.started_at >= since, RUNS.c.status.in_(EXECUTIONS), *_one(RUNS.c.integration_id, integration_id))
             .group_by(RUNS.c.integration_id))
    with reader(engine).connect() as conn:
        return {r.integration_id: RangeStats(
            int(r.total), int(r.successes), int(r.failures),
            float(r.average_ms) if r.average_ms is not None else None, r.first_failure_at, r.first_long_at,
            int(r.abandoned), r.first_abandoned_at, r.last_abandoned_id) for r in conn.execute(query)}


def p95_durations(engine: Engine, since: datetime) -> dict[int, int]:
    """Per integration, the 95th percentile (nearest rank) of its executions' durations in the range, in ms."""
    ranked = select(
        RUNS.c.integration_id, RUNS.c.duration_ms,
        func.row_number().over(partition_by=RUNS.c.integration_id, order_by=RUNS.c.duration_ms).label("rank"),
        func.count().over(partition_by=RUNS.c.integration_id).label("n"),
    ).where(RUNS.c.started_at >= since, RUNS.c.status.in_(EXECUTIONS), RUNS.c.duration_ms.is_not(None)).subquery()
    query = select(ranked.c.integration_id, ranked.c.duration_ms).where(
        ranked.c.rank == (ranked.c.n * 95 + 99) // 100)
    with reader(engine).connect() as conn:
        return {r.integration_id: int(r.duration_ms) for r in conn.execute(query)}


def failure_streaks(engine: Engine, integration_id: int | None = None) -> dict[int, Streak]:
    """Per integration with failures since its last success (or ever, without one): how many, from when."""
    # Materialized: each integration's latest success is looked up once, not once per failed run.
    last_ok = select(INTEGRATIONS.c.id, _last_success_id().label("last_ok")).where(
        *_one(INTEGRATIONS.c.id, integration_id)
    ).cte("last_ok").prefix_with("MATERIALIZED")
    query = (select(RUNS.c.integration_id, func.count().label("failures"), func.min(RUNS.c.started_at).label("since"))
             .select_from(RUNS.join(last_ok, last_ok.c.id == RUNS.c.integration_id))
             .where(RUNS.c.status.in_(FAILURES), or_(last_ok.c.last_ok.is_(None), RUNS.c.id > last_ok.c.last_ok))
             .group_by(RUNS.c.integration_id))
    with reader(engine).connect() as conn:
        return {r.integration_id: Streak(int(r.failures), r.since) for r in conn.execute(query)}


def recent_runs(engine: Engine, per_integration: int = 10,
                integration_id: int | None = None) -> dict[int, list[dict[str, Any]]]:
    """Per integration, its latest executions (running ones included), newest first: the id of its
    `per_integration`-th newest is found walking the (integration_id, id) index backwards, then a range seek."""
    inner = RUNS.alias("recent")
    oldest_shown = (select(inner.c.id).where(inner.c.integration_id == INTEGRATIONS.c.id,
                                             inner.c.status.in_(RECENT_STATUSES))
                    .order_by(inner.c.id.desc()).limit(1).offset(per_integration - 1).scalar_subquery())
    # Materialized first, so that both databases seek each integration's id range instead of scanning every run.
    listed = select(INTEGRATIONS.c.id.label("integration_id"), func.coalesce(oldest_shown, 0).label("from_id"))
    listed = listed.where(*_one(INTEGRATIONS.c.id, integration_id))
    bounds = listed.cte("bounds").prefix_with("MATERIALIZED")
    # The few skipped or claimed runs inside an id range are dropped below rather than by SQL.
    query = (select(RUNS).select_from(bounds.join(RUNS, and_(RUNS.c.integration_id == bounds.c.integration_id,
                                                             RUNS.c.id >= bounds.c.from_id)))
             .order_by(RUNS.c.integration_id, RUNS.c.id.desc()))
    found: dict[int, list[dict[str, Any]]] = {}
    with reader(engine).connect() as conn:
        for row in conn.execute(query).mappings():
            if row["status"] in RECENT_STATUSES:
                found.setdefault(row["integration_id"], []).append(dict(row))
    return found
