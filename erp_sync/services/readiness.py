"""Readiness: whether this process should get traffic, beyond liveness (`/healthz`: the database answers).

Ready means: the database's schema is at the revision this erp-sync ships (a replica started before `erp-sync db
upgrade` would fail on the first missing column), and the scheduler runs where it should (a process built to
schedule whose scheduler is not running would silently run nothing). `reasons` lists what is wrong; empty is ready.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Protocol

from sqlalchemy import Engine

from erp_sync.db import maintenance, migrate


@dataclass(frozen=True)
class Readiness:
    schema: str | None
    schema_needed: str
    scheduler: str  # "running", "stopped" or "off" (this process does not schedule)
    reasons: list[str]

    @property
    def ready(self) -> bool:
        return not self.reasons


@cache
def _head() -> str:
    return migrate.head()


class Scheduler(Protocol):
    @property
    def running(self) -> bool: ...


class ReadinessService:
    def __init__(self, engine: Engine, scheduler: Scheduler | None) -> None:
        """`scheduler`: this process's scheduler, None when it is not meant to schedule."""
        self._engine = engine
        self._scheduler = scheduler

    def check(self) -> Readiness:
        found, needed = maintenance.schema_revision(self._engine), _head()
        reasons = []
        if found != needed:
            reasons.append(f"the database's schema is at revision {found or 'none'}, this erp-sync needs {needed}: "
                           "run `erp-sync db upgrade`")
        scheduler = "off" if self._scheduler is None else "running" if self._scheduler.running else "stopped"
        if scheduler == "stopped":
            reasons.append("this process should run the scheduler (ERP_SYNC_SCHEDULER=on) but it is not running: "
                           "its log says why; restart the process")
        return Readiness(found, needed, scheduler, reasons)
