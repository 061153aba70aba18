"""GET /metrics: the Prometheus text format, made by prometheus_client from a snapshot of the database.

A fresh registry with one collector per scrape: nothing is counted in this process's memory, so every replica
answers the same figures. Behind `ERP_SYNC_METRICS_TOKEN` (Bearer) or the admin token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from erp_sync.errors import ErpSyncError
from erp_sync.services.metrics import EXECUTIONS, ROW_KINDS, MetricsSnapshot

bp = Blueprint("metrics", __name__)

LABELS = ["integration_id", "integration"]


class SnapshotCollector(Collector):
    """The metric families of one snapshot (`erp_sync.services.metrics.MetricsSnapshot`)."""

    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        names = {item.integration_id: item.name for item in self._snapshot.integrations}
        yield from self._counters(names)
        yield self._durations(names)
        yield from self._gauges()

    def _counters(self, names: dict[int, str]) -> Iterator[Metric]:
        runs = CounterMetricFamily("erp_sync_runs", "Runs that ended, by integration, status and trigger.",
                                   labels=[*LABELS, "status", "trigger"])
        rows = CounterMetricFamily("erp_sync_rows", "Rows handled by runs, by integration and kind.",
                                   labels=[*LABELS, "kind"])
        by_kind: dict[tuple[int, str], int] = {}
        for total in self._snapshot.totals:
            if total.integration_id not in names:
                continue
            labels = [str(total.integration_id), names[total.integration_id]]
            runs.add_metric([*labels, total.status, total.trigger], total.runs)
            for kind in ROW_KINDS:
                by_kind[(total.integration_id, kind)] = by_kind.get((total.integration_id, kind), 0) + total.rows[kind]
        for (integration_id, kind), count in sorted(by_kind.items()):
            rows.add_metric([str(integration_id), names[integration_id], kind], count)
        yield runs
        yield rows

    def _durations(self, names: dict[int, str]) -> Metric:
        histogram = HistogramMetricFamily("erp_sync_run_duration_seconds",
                                          "How long executions took (skipped runs are not executions).",
                                          labels=LABELS)
        sums: dict[int, int] = {}
        for total in self._snapshot.totals:
            if total.status in EXECUTIONS:
                sums[total.integration_id] = sums.get(total.integration_id, 0) + total.duration_ms
        for integration_id, counts in sorted(self._snapshot.durations.items()):
            if integration_id not in names:
                continue
            bounds = sorted((label for label in counts if label != "+Inf"), key=float)
            cumulative, buckets = 0, []
            for label in [*bounds, "+Inf"]:
                cumulative += counts.get(label, 0)
                buckets.append((label, float(cumulative)))
            histogram.add_metric([str(integration_id), names[integration_id]], buckets,
                                 sums.get(integration_id, 0) / 1000)
        return histogram

    def _gauges(self) -> Iterator[Metric]:
        success = GaugeMetricFamily("erp_sync_last_success_timestamp_seconds",
                                    "When the integration's latest successful run ended (Unix time).", labels=LABELS)
        next_run = GaugeMetricFamily("erp_sync_next_run_timestamp_seconds",
                                     "When the integration's schedule fires next (Unix time); active ones only.",
                                     labels=LABELS)
        lease = GaugeMetricFamily("erp_sync_lease_held", "1 while a run holds the integration's lease.",
                                  labels=LABELS)
        for item in self._snapshot.integrations:
            labels = [str(item.integration_id), item.name]
            if item.last_success_at is not None:
                success.add_metric(labels, item.last_success_at.timestamp())
            if item.next_run_at is not None:
                next_run.add_metric(labels, item.next_run_at.timestamp())
            lease.add_metric(labels, 1.0 if item.lease_held else 0.0)
        yield success
        yield next_run
        yield lease
        yield GaugeMetricFamily("erp_sync_leases_held", "Integrations whose lease a run holds now.",
                                value=sum(item.lease_held for item in self._snapshot.integrations))
        yield GaugeMetricFamily("erp_sync_scheduler_running", "1 when this process runs the scheduler.",
                                value=1.0 if self._snapshot.scheduler_running else 0.0)


def render(snapshot: MetricsSnapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)


def _allowed() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    settings = current_app.extensions["erp_sync"].settings
    given = token.strip().encode("utf-8")
    accepted = [settings.api_token, settings.operations.metrics_token]
    return any(hmac.compare_digest(given, secret.encode("utf-8")) for secret in accepted if secret)


@bp.get("/metrics")
def metrics() -> Response:
    if not _allowed():
        raise ErpSyncError("send Authorization: Bearer <ERP_SYNC_METRICS_TOKEN> (or the admin token)",
                           code="UNAUTHORIZED")
    return Response(render(current_app.extensions["erp_sync"].metrics.snapshot()), mimetype=None,
                    content_type=CONTENT_TYPE_PLAIN_0_0_4)
