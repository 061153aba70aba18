"""The health signals the overview shows beside each integration: its success rate over 24 hours and its open
alerts, read once per page from the monitoring service (the same report as `GET /api/monitoring`)."""

from __future__ import annotations

from dataclasses import dataclass, field
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

    @classmethod
    def read(cls, app: Any) -> Signals:
        report = app.monitoring.overview(HOURS)
        alerts: dict[int, list[Alert]] = {}
        for alert in report.alerts:
            alerts.setdefault(alert.integration_id, []).append(Alert(alert.severity, alert.message))
        return cls({item.integration_id: item.success_rate for item in report.stats}, alerts)

    def success_rate(self, integration_id: int) -> float | None:
        return self.rates.get(integration_id)

    def alerts(self, integration_id: int) -> list[Alert]:
        return self.open_alerts.get(integration_id, [])
