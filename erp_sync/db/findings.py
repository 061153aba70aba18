"""What a run leaves to be read: its row errors (rows it could not map, pushes the ERP refused) and its conflicts
(rows changed on both sides), recorded inside the caller's transaction and paged in the order they were recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Table, func, insert, select

from erp_sync.db.models import CONFLICTS, ROW_ERRORS


class RowError(NamedTuple):
    """A row a run could not load or push: a stable code and a reason a person can act on."""

    code: str
    reason: str
    erp_key: str | None = None
    field: str | None = None
    page: int | None = None


class Conflict(NamedTuple):
    """A row changed on both sides, how the conflict policy settled it, and both sides' values."""

    erp_key: str
    local_key: str
    policy: str
    resolution: str  # erp_won or local_won
    local_values: dict[str, Any]
    erp_values: dict[str, Any]


def record_row_errors(conn: Connection, integration_id: int, run_id: int, errors: Sequence[RowError],
                      now: datetime) -> None:
    """Keep a run's row errors, in order."""
    _record(conn, ROW_ERRORS, integration_id, run_id, errors, now)


def record_conflicts(conn: Connection, integration_id: int, run_id: int, conflicts: Sequence[Conflict],
                     now: datetime) -> None:
    """Keep a run's conflicts, in order."""
    _record(conn, CONFLICTS, integration_id, run_id, conflicts, now)


def _record(conn: Connection, table: Table, integration_id: int, run_id: int,
            findings: Sequence[RowError | Conflict], now: datetime) -> None:
    if findings:
        conn.execute(insert(table), [
            {"integration_id": integration_id, "run_id": run_id, **finding._asdict(), "created_at": now}
            for finding in findings])


def _page(engine: Engine, table: Table, run_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.run_id == run_id).order_by(table.c.id)
                            .limit(limit).offset(offset)).mappings().all()
        total = conn.execute(select(func.count()).select_from(table).where(table.c.run_id == run_id)).scalar_one()
    return [dict(row) for row in rows], int(total)


def row_errors(engine: Engine, run_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the run's row errors and how many it has in all."""
    return _page(engine, ROW_ERRORS, run_id, limit, offset)


def conflicts(engine: Engine, run_id: int, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the run's conflicts and how many it has in all."""
    return _page(engine, CONFLICTS, run_id, limit, offset)
