"""GET /metrics: the Prometheus text, parsed with prometheus_client's own parser; counters come from the run totals,
so retention never lowers them and two processes on one database say the same."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from app_fixtures import CRON_SECRET, admin, customer_integration, make_settings
from flask.testing import FlaskClient
from operations_support import NOW, History
from prometheus_client.parser import text_string_to_metric_families

from erp_sync.bootstrap import ErpSync, build
from erp_sync.clock import FrozenClock
from erp_sync.sandbox import RunningSandbox
from erp_sync.web.app import create_app

DAY = timedelta(days=1)


def scrape(client: FlaskClient, token: str | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics by (name, sorted labels)."""
    response = client.get("/metrics", headers=admin(token) if token else admin())
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def sample(samples: dict[Any, float], name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def test_counters_histogram_and_gauges_come_from_the_database(
        client: FlaskClient, ops: ErpSync, history: History, sandbox: RunningSandbox, clock: FrozenClock) -> None:
    seeded = history.integration("seeded")
    history.run(seeded, "succeeded", ago=3 * DAY, duration_ms=2_500, inserted=10, updated=2, unchanged=5)
    history.run(seeded, "failed", ago=2 * DAY, duration_ms=40_000, error_code="ERP_UNAVAILABLE")
    history.run(seeded, "skipped", ago=DAY, duration_ms=0)
    real = ops.integrations.create(customer_integration(sandbox.url, name="real")).id
    outcome = ops.runner.run(real, "api")
    assert outcome.ok
    history.run(seeded, "running", ago=timedelta(minutes=1))  # after the run's sweep, which would abandon it
    samples = scrape(client)
    ids = {"seeded": {"integration_id": str(seeded), "integration": "seeded"},
           "real": {"integration_id": str(real), "integration": "real"}}
    assert sample(samples, "erp_sync_runs_total", **ids["seeded"], status="succeeded", trigger="schedule") == 1
    assert sample(samples, "erp_sync_runs_total", **ids["seeded"], status="failed", trigger="schedule") == 1
    assert sample(samples, "erp_sync_runs_total", **ids["seeded"], status="skipped", trigger="schedule") == 1
    assert sample(samples, "erp_sync_runs_total", **ids["seeded"], status="running", trigger="schedule") is None
    assert sample(samples, "erp_sync_runs_total", **ids["real"], status="succeeded", trigger="api") == 1
    assert sample(samples, "erp_sync_rows_total", **ids["seeded"], kind="inserted") == 10
    assert sample(samples, "erp_sync_rows_total", **ids["seeded"], kind="unchanged") == 5
    assert sample(samples, "erp_sync_rows_total", **ids["real"], kind="inserted") == 60
    assert sample(samples, "erp_sync_run_duration_seconds_bucket", **ids["seeded"], le="5.0") == 1
    assert sample(samples, "erp_sync_run_duration_seconds_bucket", **ids["seeded"], le="60.0") == 2
    assert sample(samples, "erp_sync_run_duration_seconds_bucket", **ids["seeded"], le="+Inf") == 2
    assert sample(samples, "erp_sync_run_duration_seconds_count", **ids["seeded"]) == 2  # skipped is no execution
    assert sample(samples, "erp_sync_run_duration_seconds_sum", **ids["seeded"]) == 42.5
    finished = NOW - 3 * DAY + timedelta(milliseconds=2_500)
    assert sample(samples, "erp_sync_last_success_timestamp_seconds", **ids["seeded"]) == finished.timestamp()
    assert sample(samples, "erp_sync_next_run_timestamp_seconds", **ids["seeded"]) == \
        (NOW.replace(second=0) + timedelta(minutes=5)).timestamp()
    assert sample(samples, "erp_sync_lease_held", **ids["real"]) == 0
    assert sample(samples, "erp_sync_leases_held") == 0
    assert sample(samples, "erp_sync_scheduler_running") == 0


def test_each_run_is_counted_once_and_cleanup_never_lowers_a_counter(
        client: FlaskClient, ops: ErpSync, history: History) -> None:
    integration = history.integration("counted")
    for days in (50, 40, 35):
        history.run(integration, "succeeded", ago=days * DAY, inserted=1)
    labels = {"integration_id": str(integration), "integration": "counted"}
    first = scrape(client)
    assert scrape(client) == first
    assert sample(first, "erp_sync_runs_total", **labels, status="succeeded", trigger="schedule") == 3
    report = ops.retention.cleanup(30)
    assert report.runs == 2
    history.run(integration, "succeeded", ago=DAY, inserted=1)
    after = scrape(client)
    assert sample(after, "erp_sync_runs_total", **labels, status="succeeded", trigger="schedule") == 4
    assert sample(after, "erp_sync_rows_total", **labels, kind="inserted") == 4


def test_two_processes_on_one_database_give_the_same_metrics(
        database_url: str, tmp_path: Path, ops: ErpSync, history: History, clock: FrozenClock) -> None:
    integration = history.integration("shared")
    for hours in (30, 20, 10):
        history.run(integration, "failed" if hours == 20 else "succeeded", ago=timedelta(hours=hours))
    other = build(make_settings(database_url, tmp_path / "other"), clock=clock, with_scheduler=False)
    try:
        texts = [create_app(app).test_client().get("/metrics", headers=admin()).get_data(as_text=True)
                 for app in (ops, other, ops)]
    finally:
        other.close()
    assert texts[0] == texts[1] == texts[2]
    assert f'erp_sync_runs_total{{integration="shared",integration_id="{integration}",status="failed"' in texts[0]


def test_metrics_take_the_metrics_token_or_the_admin_token(database_url: str, tmp_path: Path,
                                                          clock: FrozenClock) -> None:
    from operations_support import build_frozen

    erp = build_frozen(database_url, tmp_path / "instance", clock, ERP_SYNC_METRICS_TOKEN="scrape-me-please-0123")
    try:
        client = create_app(erp).test_client()
        assert client.get("/metrics", headers=admin("scrape-me-please-0123")).status_code == 200
        assert client.get("/metrics", headers=admin()).status_code == 200
        for headers in ({}, admin("wrong"), admin(CRON_SECRET), {"X-Cron-Secret": CRON_SECRET}):
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 401
            assert response.get_json()["error"]["code"] == "UNAUTHORIZED"
    finally:
        erp.close()
