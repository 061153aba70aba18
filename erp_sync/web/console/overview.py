"""What the console's pages show about an integration, gathered from the services (no rule is computed here).

State: `running` while a run holds the integration's lease, else `active` or `paused`; `paused_reason` says why
when erp-sync paused it itself (options.pauseAfterFailures), None when a person did. The integration's columns
and its last run (outcome and duration) come from the listing service, which reads them for every integration in
the same two statements and decrypts nothing; the success rate over 24 hours, the open alerts and the next run (the same
schedule function the scheduler's trigger asks) come from the monitoring service's one report. So a page costs
the same number of statements for 3 integrations as for 300.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from erp_sync.errors import NotFoundError
from erp_sync.services import listing
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


def _state(listed: listing.ListedIntegration) -> str:
    if listed.lease_run_id is not None:
        return "running"
    return "active" if listed.is_active else "paused"


def _summarize(listed: listing.ListedIntegration, signals: health.Signals) -> IntegrationSummary:
    return IntegrationSummary(
        id=listed.id, name=listed.name, state=_state(listed), connector=listed.connector,
        source_object=listed.source_object, target_table=listed.target_table, cron=listed.cron_expression,
        timezone=listed.timezone, schedule_text=listing.schedule_text(listed.cron_expression),
        next_run=signals.next_run(listed.id) if listed.is_active else None, last_run=listed.last_run,
        success_rate=signals.success_rate(listed.id), alerts=signals.alerts(listed.id),
        paused_reason=None if listed.is_active else listed.paused_reason)


def summaries(app: Any, integration_id: int | None = None) -> list[IntegrationSummary]:
    """Every integration (or one), by id, as the overview lists it."""
    signals = health.Signals.read(app)
    return [_summarize(listed, signals) for listed in listing.integrations(app.engine, integration_id)]


def summary(app: Any, integration_id: int) -> IntegrationSummary:
    """One integration as its page shows it; NOT_FOUND when it does not exist (or was deleted meanwhile)."""
    found = summaries(app, integration_id)
    if not found:
        raise NotFoundError(f"integration {integration_id} does not exist", field="id")
    return found[0]


def counts(rows: list[IntegrationSummary]) -> dict[str, int]:
    """The overview's tiles: how many integrations, running, paused, failing and with open alerts."""
    failing = sum(1 for r in rows if r.last_run and r.last_run["status"] in {"failed", "abandoned"})
    return {"total": len(rows), "running": sum(r.state == "running" for r in rows),
            "paused": sum(r.state == "paused" for r in rows), "failing": failing,
            "alerts": sum(len(r.alerts) for r in rows)}
