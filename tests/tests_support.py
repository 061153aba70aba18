"""Small read helpers shared by tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text


def run_row(erp: Any, run_id: int | None) -> dict[str, Any]:
    with erp.engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM erp_sync_runs WHERE id = :id"), {"id": run_id}).mappings().one())


def table_rows(erp: Any, table: str = "customers") -> dict[int, dict[str, Any]]:
    """Every row of a test's target table, by erp_id (the table names here are the tests' own literals)."""
    with erp.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table} ORDER BY erp_id")).mappings().all()
    return {int(r["erp_id"]): dict(r) for r in rows}


def erp_rows(sandbox: Any, object_name: str = "CUSTOMER") -> dict[int, dict[str, str]]:
    key = "TRDR" if object_name == "CUSTOMER" else "MTRL"
    return {int(r[key]): r for r in sandbox.app.state.rows(object_name)}
