"""What the console's pages show about an integration, gathered from the services (no rule is computed here).

State: `running` while a run holds the integration's lease, else `active` or `paused`; `paused_reason` says why
when erp-sync paused it itself (options.pauseAfterFailures), None when a person did. The next run comes from
the same schedule function the scheduler's trigger asks. The last run, its outcome and duration come from the run
history; the success rate over 24 hours and the open alerts come from the monitoring service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from erp_sync.web.console import health


@dataclass(frozen=True)
class IntegrationSummary:
    id: int
    name: str
    state: str
    connector: str
    source_object: str
    target_table: str
    cron: str
    timezone: str
    schedule_text: str
    next_run: datetime | None
    last_run: dict[str, Any] | None
    success_rate: float | None
    alerts: list[health.Alert] = field(default_factory=list)
    paused_reason: str | None = None


def _state(record: Any) -> str:
    if record.lease_run_id is not None:
        return "running"
    return "active" if record.spec.is_active else "paused"


def summarize(app: Any, record: Any, signals: health.Signals) -> IntegrationSummary:
    spec = record.spec
    cron, zone = spec.schedule.cron_expression, spec.schedule.timezone
    preview = app.integrations.preview_schedule(cron, zone, 1)
    recent, _ = app.monitoring.runs(record.id, 1, 0)
    return IntegrationSummary(
        id=record.id, name=spec.name, state=_state(record), connector=spec.connector,
        source_object=spec.source.object, target_table=spec.target.table, cron=cron, timezone=zone,
        schedule_text=preview.description, next_run=preview.next_runs[0] if spec.is_active else None,
        last_run=recent[0] if recent else None, success_rate=signals.success_rate(record.id),
        alerts=signals.alerts(record.id), paused_reason=None if spec.is_active else record.paused_reason)


def summaries(app: Any) -> list[IntegrationSummary]:
    """Every integration, by id, as the overview lists it."""
    signals = health.Signals.read(app)
    return [summarize(app, record, signals) for record in app.integrations.list()]


def counts(rows: list[IntegrationSummary]) -> dict[str, int]:
    """The overview's tiles: how many integrations, running, paused, failing and with open alerts."""
    failing = sum(1 for r in rows if r.last_run and r.last_run["status"] in {"failed", "abandoned"})
    return {"total": len(rows), "running": sum(r.state == "running" for r in rows),
            "paused": sum(r.state == "paused" for r in rows), "failing": failing,
            "alerts": sum(len(r.alerts) for r in rows)}
