"""What happens in the database after a run ends: auto-pause, retry bookkeeping, notification state.

Pausing is a conditional UPDATE (only an active integration is paused, once), like every claim here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from erp_sync.db.models import INTEGRATIONS, NOTIFICATION_STATE, RUNS
from erp_sync.db.stats import EXECUTIONS


def previous_execution_status(engine: Engine, integration_id: int, before_run_id: int) -> str | None:
    """The status of the integration's latest execution before this run."""
    with engine.connect() as conn:
        return conn.execute(select(RUNS.c.status).where(
            RUNS.c.integration_id == integration_id, RUNS.c.id < before_run_id, RUNS.c.status.in_(EXECUTIONS))
            .order_by(RUNS.c.id.desc()).limit(1)).scalar_one_or_none()


def pause(engine: Engine, integration_id: int, reason: str, now: datetime) -> bool:
    """Deactivate an active integration with a reason; False when it was inactive already."""
    with engine.begin() as conn:
        return bool(conn.execute(update(INTEGRATIONS).where(
            INTEGRATIONS.c.id == integration_id, INTEGRATIONS.c.is_active.is_(True))
            .values(is_active=False, paused_reason=reason, updated_at=now)).rowcount)


def mark_retry(engine: Engine, run_id: int, first_run_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(RUNS).where(RUNS.c.id == run_id).values(retry_of=first_run_id))


def retries_of(engine: Engine, first_run_id: int) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(RUNS).where(RUNS.c.retry_of == first_run_id))
                   .scalar_one())


def retry_of(engine: Engine, run_id: int) -> int | None:
    with engine.connect() as conn:
        return conn.execute(select(RUNS.c.retry_of).where(RUNS.c.id == run_id)).scalar_one_or_none()


def announced_alerts(engine: Engine, integration_id: int) -> list[str]:
    with engine.connect() as conn:
        found = conn.execute(select(NOTIFICATION_STATE.c.alerts)
                             .where(NOTIFICATION_STATE.c.integration_id == integration_id)).scalar_one_or_none()
    return list(found or [])


def save_state(engine: Engine, integration_id: int, **values: Any) -> None:
    """Upsert the integration's notification state with these columns."""
    with engine.begin() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(NOTIFICATION_STATE).values(integration_id=integration_id, **{"attempts": 0, **values})
        conn.execute(statement.on_conflict_do_update(index_elements=["integration_id"], set_=values))
