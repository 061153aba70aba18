"""Three scheduler processes on one PostgreSQL database: every scheduled slot runs exactly once.

`erp-sync scheduler` started N times (default 3), each its own process, all on one database of a throw-away
PostgreSQL cluster (tests/postgres_cluster.py); M integrations (default 20), each with its own target table, fire
every minute (`* * * * *`, UTC) against `erp-sync sandbox` in its own process (small tables). After the measured
window (default 6 minutes, starting at the first whole minute after every scheduler is up) the schedulers get
SIGTERM and the runs table is read: the slot claim (`erp_sync_runs.scheduled_for`, unique per integration,
erp_sync/db/runs.py) is what makes one run of a slot, so each (integration, slot) of the window must hold exactly
one run, and it must have succeeded.

    .venv/bin/python benchmarks/bench_schedulers.py [--minutes 6] [--integrations 20] [--schedulers 3]
        [--rows 200]

Prints runs per slot, how long after its slot each run started (p50/p95/max), which process ran how many, skipped
runs, and the machine's load average during the window. Exits 1 when a slot of the window was lost, ran twice, or
its run did not succeed, or a target table does not hold the sandbox's rows. Not part of `make test`; the figures
are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # app_fixtures, postgres_cluster, e2e/processes
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_fixtures import build_app, customer_integration  # noqa: E402
from bench_sync import SandboxProcess, _cpu_seconds  # noqa: E402
from load_support import RESULTS_DIR, LoadSampler, percentile, start_postgres  # noqa: E402
from postgres_cluster import PostgresCluster  # noqa: E402
from processes import process_env, start  # noqa: E402
from sqlalchemy import text  # noqa: E402

READY_LINE = b"scheduler running"
LEAD_SECONDS = 5  # a window starts at a whole minute at least this far after the last scheduler is up


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def create_integrations(erp: Any, sandbox_url: str, count: int) -> list[int]:
    ids = []
    for number in range(count):
        body = customer_integration(
            sandbox_url, name=f"every-minute-{number:02d}",
            target={"table": f"customers_{number:02d}", "createIfMissing": True},
            schedule={"cronExpression": "* * * * *", "timezone": "UTC"})
        ids.append(erp.integrations.create(body).id)
    return ids


def wait_ready(logs: list[Path], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not all(READY_LINE in log.read_bytes() for log in logs):
        if time.monotonic() > deadline:
            raise SystemExit(f"a scheduler did not start; see {logs}")
        time.sleep(0.2)


def window_start(now: datetime) -> datetime:
    first = (now + timedelta(seconds=LEAD_SECONDS)).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return first


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


def read_runs(erp: Any) -> list[Any]:
    with erp.engine.connect() as conn:
        return list(conn.execute(text(
            "SELECT id, integration_id, scheduled_for, trigger, status, owner, started_at, finished_at, error_code, "
            "error_message, inserted, fetched FROM erp_sync_runs ORDER BY id")).all())


def table_counts(erp: Any, count: int) -> dict[str, int]:
    with erp.engine.connect() as conn:
        return {f"customers_{n:02d}": int(conn.execute(text(f"SELECT count(*) FROM customers_{n:02d}")).scalar_one())
                for n in range(count)}


def analyse(runs: list[Any], ids: list[int], first: datetime, minutes: int,
            pids: list[int]) -> dict[str, Any]:
    slots = [first + timedelta(minutes=k) for k in range(minutes)]
    expected = {(i, slot) for i in ids for slot in slots}
    per_slot = Counter((r.integration_id, aware(r.scheduled_for)) for r in runs if r.scheduled_for is not None)
    in_window = [r for r in runs if r.scheduled_for is not None and (r.integration_id, aware(r.scheduled_for))
                 in expected]
    late = [(aware(r.started_at) - aware(r.scheduled_for)).total_seconds() for r in in_window]
    process_of = {str(pid): f"scheduler {n + 1}" for n, pid in enumerate(pids)}
    by_process = Counter(process_of.get((r.owner or "").rsplit(":", 1)[-1], r.owner) for r in in_window)
    return {
        "window": [slots[0].isoformat(), (slots[-1] + timedelta(minutes=1)).isoformat()],
        "slots_expected": len(expected),
        "runs_in_window": len(in_window),
        "lost": sorted(f"{i}@{s:%H:%M}" for i, s in expected - per_slot.keys()),
        "doubled": sorted(f"{i}@{s:%H:%M} x{n}" for (i, s), n in per_slot.items() if n > 1),
        "runs_per_slot": dict(Counter(per_slot[key] for key in expected)),
        "statuses_in_window": dict(Counter(r.status for r in in_window)),
        "not_succeeded": [(r.id, r.integration_id, r.status, r.error_code, r.error_message) for r in in_window
                          if r.status != "succeeded"],
        "start_after_slot_seconds": {"p50": round(percentile(late, 0.5), 3), "p95": round(percentile(late, 0.95), 3),
                                     "max": round(max(late, default=float("nan")), 3)},
        "runs_by_process": dict(sorted(by_process.items())),
        "runs_outside_window": dict(Counter(f"{r.trigger}/{r.status}" for r in runs if r not in in_window)),
        "skipped_all": sum(1 for r in runs if r.status == "skipped"),
    }


def run(args: argparse.Namespace, folder: Path, cluster: PostgresCluster) -> dict[str, Any]:
    url = cluster.create_database("schedulers")
    sandbox = SandboxProcess(args.rows, folder / "sandbox.log")
    erp = build_app(url, folder / "instance")
    schedulers: list[Any] = []
    try:
        ids = create_integrations(erp, sandbox.url, args.integrations)
        env = process_env(url, folder / "instance", ERP_SYNC_SCHEDULER="on", ERP_SYNC_LOG_LEVEL="WARNING")
        logs = [folder / f"scheduler{n + 1}.log" for n in range(args.schedulers)]
        schedulers = [start(["scheduler"], env, log) for log in logs]
        wait_ready(logs)
        first = window_start(datetime.now(UTC))
        end = first + timedelta(minutes=args.minutes)
        print(f"{args.schedulers} schedulers up; window {first:%H:%M:%S}-{end:%H:%M:%S} UTC", flush=True)
        sleep_until(first)
        cpu_before = [_cpu_seconds(p.pid) for p in schedulers]
        with LoadSampler(10.0) as load:
            sleep_until(end - timedelta(seconds=3))
        cpu = [round(_cpu_seconds(p.pid) - b, 1) for p, b in zip(schedulers, cpu_before, strict=True)]
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in schedulers]
        sandbox.stop()
    try:
        runs, counts = read_runs(erp), table_counts(erp, args.integrations)
    finally:
        erp.close()
    result = analyse(runs, ids, first, args.minutes, [p.pid for p in schedulers])
    result.update(exit_codes=codes, scheduler_cpu_seconds_in_window=cpu,
                  load_average_1min=load.summary(),
                  tables_short=[name for name, n in counts.items() if n != args.rows], rows_per_table=args.rows)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--minutes", type=int, default=6)
    parser.add_argument("--integrations", type=int, default=20)
    parser.add_argument("--schedulers", type=int, default=3)
    parser.add_argument("--rows", type=int, default=200, help="customers in the sandbox (each integration's table)")
    args = parser.parse_args()
    cluster = start_postgres()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-schedulers-") as tmp:
            result = run(args, Path(tmp), cluster)
    finally:
        cluster.stop()
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"schedulers-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    held = (not result["lost"] and not result["doubled"] and not result["not_succeeded"]
            and not result["tables_short"] and result["runs_in_window"] == result["slots_expected"])
    print("held: every slot of the window ran exactly once and succeeded" if held else "FAILED: see above")
    return 0 if held else 1


if __name__ == "__main__":
    sys.exit(main())
