"""Run totals: what every run that ended added up to, per integration, kept apart from the runs themselves.

The metrics' counters read these rows, and retention never deletes them, so a counter never goes down when old
runs go. A *fold* adds the runs that ended and were not counted yet, and marks them counted in the same
transaction (`UPDATE ... RETURNING` of exactly the rows it marks), so each run is added once whichever process
folds and however many fold at once: on PostgreSQL a second fold waits for the first one's row locks and then
finds those runs counted. Every way a run ends is covered (a finish, the stale sweep's `abandoned`, a missed
slot recorded as `skipped`), since the fold looks at the runs table rather than at who ended the run.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, case, false, select, true, update
from sqlalchemy.dialects import postgresql, sqlite

from erp_sync.db.models import RUN_DURATION_BUCKETS, RUN_TOTALS, RUNS
from erp_sync.db.reading import reader
from erp_sync.db.stats import EXECUTIONS
from erp_sync.domain.run import RunStatus

ENDED = (*EXECUTIONS, RunStatus.SKIPPED.value)
ROW_KINDS = ("inserted", "updated", "unchanged", "deleted", "pushed", "errors")
# Upper bounds of the duration histogram, in seconds; "+Inf" holds the rest.
DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
FOLD_BATCH = 5000


@dataclass(frozen=True)
class TotalRow:
    integration_id: int
    trigger: str
    status: str
    runs: int
    rows: dict[str, int]
    duration_ms: int
    last_finished_at: datetime | None


def bucket_label(duration_ms: int) -> str:
    """The histogram bucket a duration falls in, spelled as Prometheus' `le` label."""
    seconds = duration_ms / 1000
    bound = next((b for b in DURATION_BUCKETS if seconds <= b), None)
    return "+Inf" if bound is None else repr(bound)


def fold(engine: Engine, batch: int = FOLD_BATCH) -> int:
    """Add every ended, uncounted run to the totals; returns how many were added."""
    added = 0
    while True:
        with engine.begin() as conn:
            count = _fold_batch(conn, batch)
        added += count
        if count < batch:
            return added


def _fold_batch(conn: Connection, batch: int) -> int:
    uncounted = (RUNS.c.totals_counted == false(), RUNS.c.status.in_(ENDED))
    picked = select(RUNS.c.id).where(*uncounted).order_by(RUNS.c.id).limit(batch).scalar_subquery()
    marked = conn.execute(
        update(RUNS).where(*uncounted, RUNS.c.id.in_(picked)).values(totals_counted=true())
        .returning(RUNS.c.integration_id, RUNS.c.trigger, RUNS.c.status, RUNS.c.duration_ms, RUNS.c.finished_at,
                   *(RUNS.c[kind] for kind in ROW_KINDS))).all()
    totals: dict[tuple[int, str, str], dict[str, Any]] = {}
    buckets: Counter[tuple[int, str]] = Counter()
    for run in marked:
        entry = totals.setdefault((run.integration_id, run.trigger, run.status), {
            "runs": 0, "duration_ms": 0, "last_finished_at": None, **dict.fromkeys(ROW_KINDS, 0)})
        entry["runs"] += 1
        duration = max(run.duration_ms or 0, 0)  # a run recorded before its end was kept after its start (runs.py)
        entry["duration_ms"] += duration
        for kind in ROW_KINDS:
            entry[kind] += getattr(run, kind) or 0
        if run.finished_at is not None and (entry["last_finished_at"] is None or
                                            run.finished_at > entry["last_finished_at"]):
            entry["last_finished_at"] = run.finished_at
        if run.status in EXECUTIONS:
            buckets[(run.integration_id, bucket_label(duration))] += 1
    _add_totals(conn, [{"integration_id": integration, "trigger": trigger, "status": status, **sums}
                       for (integration, trigger, status), sums in sorted(totals.items())])
    _add_buckets(conn, [{"integration_id": i, "le": le, "runs": n} for (i, le), n in sorted(buckets.items())])
    return len(marked)


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def _add_totals(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = _insert(conn)(RUN_TOTALS)
    new = statement.excluded
    kept = RUN_TOTALS.c.last_finished_at
    additive = {name: RUN_TOTALS.c[name] + new[name] for name in ("runs", "duration_ms", *ROW_KINDS)}
    statement = statement.on_conflict_do_update(
        index_elements=["integration_id", "trigger", "status"],
        set_={**additive, "last_finished_at": case(
            (kept.is_(None), new.last_finished_at), (new.last_finished_at > kept, new.last_finished_at),
            else_=kept)})
    conn.execute(statement, rows)


def _add_buckets(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = _insert(conn)(RUN_DURATION_BUCKETS)
    statement = statement.on_conflict_do_update(
        index_elements=["integration_id", "le"], set_={"runs": RUN_DURATION_BUCKETS.c.runs + statement.excluded.runs})
    conn.execute(statement, rows)


def totals(engine: Engine) -> list[TotalRow]:
    """Every totals row, by integration, trigger and status."""
    query = select(RUN_TOTALS).order_by(RUN_TOTALS.c.integration_id, RUN_TOTALS.c.trigger, RUN_TOTALS.c.status)
    with reader(engine).connect() as conn:
        return [TotalRow(r.integration_id, r.trigger, r.status, int(r.runs), {k: int(r[k]) for k in ROW_KINDS},
                         int(r.duration_ms), r.last_finished_at) for r in conn.execute(query).mappings()]


def durations(engine: Engine) -> dict[int, dict[str, int]]:
    """Per integration, executions per duration bucket (not cumulative)."""
    found: dict[int, dict[str, int]] = {}
    with reader(engine).connect() as conn:
        for row in conn.execute(select(RUN_DURATION_BUCKETS)):
            found.setdefault(row.integration_id, {})[row.le] = int(row.runs)
    return found
