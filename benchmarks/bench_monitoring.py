"""How long the monitoring answer takes with many integrations and a long run history, on SQLite and PostgreSQL.

Seeds 1,000 integrations (100 distinct schedules) and 1,000,000 runs (1,000 each, one a minute, so a 24-hour
range holds all of them; 90% succeeded, 3% succeeded with errors, 4% failed, 1% abandoned, 2% skipped), then times
`MonitoringService.overview` (what `GET /api/monitoring` answers, minus JSON) for a 24-hour and a 1-hour range,
the first fold of those runs into the run totals, and the metrics text (`GET /metrics` minus HTTP). Each figure
is the median of `--repeat` calls after one warm-up call.

    .venv/bin/python benchmarks/bench_monitoring.py [--integrations 1000] [--runs-per 1000] [--repeat 3]
        [--databases sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # postgres_cluster

from erp_sync.bootstrap import build  # noqa: E402
from erp_sync.db.migrate import upgrade  # noqa: E402
from erp_sync.db.models import INTEGRATIONS, RUNS  # noqa: E402
from erp_sync.settings import load_settings  # noqa: E402
from erp_sync.web.metrics import render  # noqa: E402

ZONES = ("Europe/Athens", "Europe/Berlin", "UTC", "America/New_York", "Asia/Tokyo", "Europe/London",
         "Australia/Sydney", "America/Sao_Paulo", "Africa/Cairo", "Asia/Kolkata")  # 100 distinct schedules
STATUSES = (["succeeded"] * 90 + ["succeeded_with_errors"] * 3 + ["failed"] * 4 + ["abandoned"] + ["skipped"] * 2)


def seed(engine: Any, integrations: int, runs_per: int, now: datetime) -> None:
    rng = random.Random(17)
    created = now - timedelta(days=60)
    with engine.begin() as conn:
        conn.execute(INTEGRATIONS.insert(), [{
            "id": i, "name": f"bench-{i}", "connector": "softone", "connection": {}, "source": {},
            "target_table": "customers", "create_if_missing": False, "mappings": [], "keys": [],
            "cron_expression": f"*/{1 + i % 10} * * * *", "timezone": ZONES[i % len(ZONES)], "is_active": True,
            "direction": "one_way", "conflict_policy": "erp_wins", "delete_policy": "ignore", "options": {},
            "lease_token": 0, "created_at": created, "updated_at": created, "activated_at": created,
        } for i in range(1, integrations + 1)])
    batch: list[dict[str, Any]] = []
    for minute in range(runs_per, 0, -1):  # oldest first, as runs are inserted
        for integration in range(1, integrations + 1):
            started = now - timedelta(minutes=minute, seconds=rng.randint(0, 50))
            status = rng.choice(STATUSES)
            duration = 0 if status == "skipped" else rng.randint(200, 20_000)
            batch.append({
                "integration_id": integration, "trigger": "schedule", "scheduled_for": None, "status": status,
                "full": False, "dry_run": False, "started_at": started,
                "finished_at": started + timedelta(milliseconds=duration), "duration_ms": duration,
                "pages": 1, "fetched": 100, "inserted": 0, "updated": 3, "unchanged": 97, "deleted": 0,
                "pushed": 0, "conflicts": 0, "errors": 0,
                "error_code": "ERP_UNAVAILABLE" if status == "failed" else None})
            if len(batch) >= 20_000:
                _insert(engine, batch)
    _insert(engine, batch)


def _insert(engine: Any, batch: list[dict[str, Any]]) -> None:
    if not batch:
        return
    with engine.begin() as conn:
        conn.execute(RUNS.insert(), batch)
    batch.clear()


def timed(call: Callable[[], Any], repeat: int) -> float:
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(url: str, folder: Path, args: argparse.Namespace) -> dict[str, float]:
    upgrade(url)
    settings = load_settings({"ERP_SYNC_DATABASE_URL": url, "ERP_SYNC_INSTANCE_DIR": str(folder),
                              "ERP_SYNC_API_TOKEN": "bench-admin-token", "CRON_SECRET": "bench-cron-secret",
                              "ERP_SYNC_SECRET_KEYS": Fernet.generate_key().decode(), "ERP_SYNC_SANDBOX": "off"})
    app = build(settings, with_scheduler=False)
    try:
        start = time.perf_counter()
        seed(app.engine, args.integrations, args.runs_per, app.clock.now())
        print(f"  seeded in {time.perf_counter() - start:.0f} s", file=sys.stderr)
        if app.engine.dialect.name == "postgresql":
            # What autovacuum does within a minute of such an insert; without statistics the planner guesses
            # the status index matches a handful of rows and runs every per-integration lookup through it.
            with app.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
        figures = {"overview 24 h": timed(lambda: app.monitoring.overview(24), args.repeat),
                   "overview 1 h": timed(lambda: app.monitoring.overview(1), args.repeat)}
        start = time.perf_counter()
        app.metrics.fold()
        figures["first fold of every run into the totals"] = time.perf_counter() - start
        figures["metrics text"] = timed(lambda: render(app.metrics.snapshot()), args.repeat)
        return figures
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--integrations", type=int, default=1000)
    parser.add_argument("--runs-per", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    now = datetime.now(UTC).date().isoformat()
    print(f"{args.integrations} integrations x {args.runs_per} runs, median of {args.repeat}, {now}")
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="erp-sync-bench-monitoring-") as folder:
            if database == "sqlite":
                figures = measure(f"sqlite:///{folder}/bench.sqlite3", Path(folder), args)
            else:
                from postgres_cluster import PostgresCluster, find_bin_dir

                bin_dir = find_bin_dir()
                if bin_dir is None:
                    print("PostgreSQL is not installed; skipped", file=sys.stderr)
                    continue
                cluster = PostgresCluster(bin_dir).start()
                try:
                    figures = measure(cluster.create_database("bench"), Path(folder), args)
                finally:
                    cluster.stop()
        for name, seconds in figures.items():
            print(f"{database:10} {name:40} {seconds * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
