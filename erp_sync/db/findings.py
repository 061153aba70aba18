"""What a run left to be read: its row errors (rows it could not map, pushes the ERP refused) and its conflicts
(rows changed on both sides), paged in the order they were recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Table, func, select

from erp_sync.db.models import CONFLICTS, ROW_ERRORS


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
