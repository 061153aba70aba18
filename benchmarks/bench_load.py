"""Load figures: many triggers of one integration at once, and many integrations scheduled in one process.

1. Concurrent triggers: `erp-sync`'s WSGI app served by waitress (the server `erp-sync serve` uses) on loopback,
   one integration reading the SoftOne sandbox (2,000 customers, pages of 100, each page slowed so the run lasts
   about 20 s, longer than all the answers take), and N client threads released together by a barrier, each sending
   `POST /api/integrations/1/sync`. Exactly one may start a run (202); every other must be 409 SYNC_IN_PROGRESS,
   the runs table must hold exactly one run that is not `skipped`, and no two runs may overlap in time.
2. Many integrations: M integrations (five-field crons in a spread of zones) created in the database, then a
   process builds erp-sync with its scheduler: build time, the first reconcile (every job added), a poll's cost
   (a reconcile with nothing changed, what the scheduler does every ERP_SYNC_SCHEDULER_POLL_SECONDS), the
   scheduler's start, and the resident memory it all adds (VmRSS before and after).

    .venv/bin/python benchmarks/bench_load.py [--database sqlite|postgresql] [--triggers 100]
        [--integrations 1000]

Exits 1 if the one-run rule does not hold. Not part of `make test`; the figures are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # app_fixtures, postgres_cluster

import httpx  # noqa: E402
from app_fixtures import API_TOKEN, build_app, customer_integration, make_settings  # noqa: E402
from sqlalchemy import text  # noqa: E402

from erp_sync.bootstrap import build  # noqa: E402
from erp_sync.sandbox import SandboxConfig, start_in_thread  # noqa: E402
from erp_sync.web.app import create_app  # noqa: E402
from erp_sync.web.http_server import create_http_server  # noqa: E402

ZONES = ["UTC", "Europe/Athens", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "America/Sao_Paulo"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database(kind: str, folder: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'load.sqlite3'}", None
    from postgres_cluster import PostgresCluster, find_bin_dir

    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed here")
    cluster = PostgresCluster(bin_dir).start()
    return cluster.create_database("load"), cluster


def trigger(url: str, barrier: threading.Barrier, statuses: list[int]) -> None:
    with httpx.Client(timeout=60) as client:
        barrier.wait()
        statuses.append(client.post(url, headers={"Authorization": f"Bearer {API_TOKEN}"}).status_code)


def concurrent_triggers(url: str, folder: Path, count: int) -> dict[str, Any]:
    sandbox = start_in_thread(SandboxConfig(customers=2000, seed=5))
    sandbox.app.state.set_faults({"slow_page_seconds": {"seconds": 1.0, "times": 0}})  # a run of about 20 s
    erp = build_app(url, folder / "instance")
    try:
        body = customer_integration(sandbox.url)
        body["source"]["pageSize"] = 100
        integration = erp.integrations.create(body).id
        port = free_port()
        server = create_http_server(create_app(erp), host="127.0.0.1", port=port, threads=16)
        threading.Thread(target=server.run, daemon=True).start()
        barrier, statuses = threading.Barrier(count), []
        threads = [threading.Thread(target=trigger, args=(f"http://127.0.0.1:{port}/api/integrations/{integration}/sync",
                                                           barrier, statuses)) for _ in range(count)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        answered = time.perf_counter() - started
        sandbox.app.state.set_faults({"clear": True})
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with erp.engine.connect() as conn:
                rows = conn.execute(text("SELECT status, started_at, finished_at FROM erp_sync_runs "
                                         "WHERE status <> 'skipped' ORDER BY started_at")).all()
                runs = Counter(conn.execute(text("SELECT status FROM erp_sync_runs")).scalars())
            if not runs.get("running") and not runs.get("claimed"):
                break
            time.sleep(0.2)
        server.close()
    finally:
        erp.close()
        sandbox.stop()
    overlapping = sum(1 for a, b in pairwise(rows) if a.finished_at is None
                      or b.started_at < a.finished_at)
    answers = Counter(statuses)
    return {"triggers": count, "answers": dict(answers), "all_answered_seconds": round(answered, 2),
            "runs": dict(runs), "overlapping_runs": overlapping,
            "one_run": answers.get(202) == 1 and answers.get(409) == count - 1 and len(rows) == 1}


def many_integrations(url: str, folder: Path, count: int) -> dict[str, Any]:
    erp = build_app(url, folder / "instance")
    started = time.perf_counter()
    try:
        for i in range(count):
            body = customer_integration(name=f"load-{i:05d}", schedule={
                "cronExpression": f"{i % 60} {i % 24} * * *", "timezone": ZONES[i % len(ZONES)]})
            erp.integrations.create(body)
    finally:
        erp.close()
    created = time.perf_counter() - started
    before = rss_mb()
    started = time.perf_counter()
    scheduled = build(make_settings(url, folder / "instance", ERP_SYNC_SCHEDULER="on"), with_scheduler=True)
    built = time.perf_counter() - started
    try:
        assert scheduled.scheduler is not None
        started = time.perf_counter()
        scheduled.scheduler.start()
        start_seconds = time.perf_counter() - started
        started = time.perf_counter()
        scheduled.reconcile()
        first = time.perf_counter() - started
        polls = []
        for _ in range(5):
            started = time.perf_counter()
            scheduled.reconcile()
            polls.append(time.perf_counter() - started)
        jobs = len(scheduled.scheduler.jobs())
        after = rss_mb()
    finally:
        scheduled.close()
    return {"integrations": count, "create_all_seconds": round(created, 1), "build_seconds": round(built, 3),
            "scheduler_start_seconds": round(start_seconds, 3), "first_reconcile_seconds": round(first, 3),
            "poll_seconds_median": round(sorted(polls)[2], 3), "jobs": jobs,
            "rss_added_mb": round(after - before, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--triggers", type=int, default=100)
    parser.add_argument("--integrations", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="erp-sync-load-") as tmp:
        folder = Path(tmp)
        url, cluster = database(args.database, folder)
        try:
            first = concurrent_triggers(url, folder / "a", args.triggers)
            second_url = url if cluster is None else cluster.create_database("many")
            if cluster is None:
                second_url = f"sqlite:///{folder / 'many.sqlite3'}"
            second = many_integrations(second_url, folder / "b", args.integrations)
        finally:
            if cluster is not None:
                cluster.stop()
    print(json.dumps({"database": args.database, "concurrent_triggers": first, "many_integrations": second},
                     indent=2))
    return 0 if first["one_run"] and not first["overlapping_runs"] and second["jobs"] == args.integrations else 1


if __name__ == "__main__":
    sys.exit(main())
