"""What a list of integrations shows: each integration's plain columns and its latest run, in two statements.

Only the columns a listing shows are read, so no secret is decrypted and no spec is validated for it (a spec was
validated when it was saved). The latest run of every integration (any status, as the run history lists them) is
found through the (integration_id, id) index, one seek each, however many runs there are. Both statements read
without holding SQLite's write lock (`erp_sync.db.reading`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from erp_sync.db.models import INTEGRATIONS, RUNS
from erp_sync.db.reading import reader


@dataclass(frozen=True)
class ListedIntegration:
    """One integration as a listing shows it, with its latest run as the run history returns it (or None)."""

    id: int
    name: str
    connector: str
    source_object: str
    target_table: str
    cron_expression: str
    timezone: str
    is_active: bool
    lease_run_id: int | None
    paused_reason: str | None
    last_run: dict[str, Any] | None


def _latest_runs(conn: Connection, integration_id: int | None) -> dict[int, dict[str, Any]]:
    inner = RUNS.alias("latest")
    newest = (select(func.max(inner.c.id)).where(inner.c.integration_id == INTEGRATIONS.c.id)
              .scalar_subquery())
    # Materialized first, so that both databases seek each integration's newest run instead of scanning every run.
    last = select(newest.label("run_id")).select_from(INTEGRATIONS)
    if integration_id is not None:
        last = last.where(INTEGRATIONS.c.id == integration_id)
    ids = last.cte("last").prefix_with("MATERIALIZED")
    query = select(RUNS).select_from(ids.join(RUNS, RUNS.c.id == ids.c.run_id))
    return {row["integration_id"]: dict(row) for row in conn.execute(query).mappings()}


def listed_integrations(engine: Engine, integration_id: int | None = None) -> list[ListedIntegration]:
    """Every integration (or one), by id, with its latest run."""
    table = INTEGRATIONS.c
    query = select(table.id, table.name, table.connector, table.source, table.target_table, table.cron_expression,
                   table.timezone, table.is_active, table.lease_run_id, table.paused_reason).order_by(table.id)
    if integration_id is not None:
        query = query.where(table.id == integration_id)
    with reader(engine).connect() as conn:
        rows = conn.execute(query).all()
        latest = _latest_runs(conn, integration_id)
    return [ListedIntegration(r.id, r.name, r.connector, r.source["object"], r.target_table, r.cron_expression,
                              r.timezone, bool(r.is_active), r.lease_run_id, r.paused_reason, latest.get(r.id))
            for r in rows]
