"""The health signals the overview shows beside each integration: its success rate over 24 hours, its open alerts
and its next run, read once per page from the monitoring service (the same report as `GET /api/monitoring`, whose
next run is the schedule's next fire time for an active integration, None for a paused one)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HOURS = 24


@dataclass(frozen=True)
class Alert:
    severity: str
    message: str


@dataclass(frozen=True)
class Signals:
    rates: dict[int, float | None] = field(default_factory=dict)
    open_alerts: dict[int, list[Alert]] = field(default_factory=dict)
    next_runs: dict[int, datetime | None] = field(default_factory=dict)

    @classmethod
    def read(cls, app: Any) -> Signals:
        report = app.monitoring.overview(HOURS)
        alerts: dict[int, list[Alert]] = {}
        for alert in report.alerts:
            alerts.setdefault(alert.integration_id, []).append(Alert(alert.severity, alert.message))
        return cls({item.integration_id: item.success_rate for item in report.stats}, alerts,
                   {item.integration_id: item.next_run_at for item in report.stats})

    def success_rate(self, integration_id: int) -> float | None:
        return self.rates.get(integration_id)

    def alerts(self, integration_id: int) -> list[Alert]:
        return self.open_alerts.get(integration_id, [])

    def next_run(self, integration_id: int) -> datetime | None:
        return self.next_runs.get(integration_id)
