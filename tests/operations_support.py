"""Helpers for the operations tests (tests/operations): a frozen start time, an erp-sync built on a frozen clock, and a
run history written straight into the runs table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app_fixtures import CUSTOMERS_DDL, customer_integration, make_settings
from sqlalchemy import insert, text, update

from erp_sync.bootstrap import ErpSync, build
from erp_sync.clock import FrozenClock
from erp_sync.db.migrate import upgrade
from erp_sync.db.models import INTEGRATIONS, RUNS

NOW = datetime(2026, 12, 7, 12, 0, 30, tzinfo=UTC)


class History:
    """Writes runs straight into the runs table, as finished runs leave them."""

    def __init__(self, erp: ErpSync) -> None:
        self.erp = erp

    def integration(self, name: str, *, created_ago: timedelta = timedelta(days=30), **changes: Any) -> int:
        """An integration created (and activated) `created_ago`, on the test `customers` table."""
        integration_id = self.erp.integrations.create(customer_integration(name=name, **changes)).id
        created = self.erp.clock.now() - created_ago
        with self.erp.engine.begin() as conn:
            conn.execute(update(INTEGRATIONS).where(INTEGRATIONS.c.id == integration_id)
                         .values(created_at=created, activated_at=created))
        return integration_id

    def run(self, integration_id: int, status: str, *, ago: timedelta, duration_ms: int | None = 1000,
            trigger: str = "schedule", error_code: str | None = None, **values: Any) -> int:
        started = self.erp.clock.now() - ago
        finished = started + timedelta(milliseconds=duration_ms or 0) if status != "running" else None
        row = {"integration_id": integration_id, "trigger": trigger, "status": status, "started_at": started,
               "finished_at": finished, "duration_ms": duration_ms if status != "running" else None,
               "error_code": error_code, "full": False, "dry_run": False, "pages": 0, "fetched": 0, "inserted": 0,
               "updated": 0, "unchanged": 0, "deleted": 0, "pushed": 0, "conflicts": 0, "errors": 0, **values}
        with self.erp.engine.begin() as conn:
            return int(conn.execute(insert(RUNS).values(**row)).inserted_primary_key[0])  # type: ignore[index]


def build_frozen(database_url: str, instance_dir: Path, clock: FrozenClock, **overrides: str) -> ErpSync:
    upgrade(database_url)
    app = build(make_settings(database_url, instance_dir, **overrides), clock=clock, with_scheduler=False)
    with app.engine.begin() as conn:
        stamp = "DATETIME" if app.engine.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
        conn.execute(text(CUSTOMERS_DDL.format(ts=stamp)))
    return app
