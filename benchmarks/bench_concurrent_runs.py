"""Ten integrations syncing at once into one database, against the same ten one after another.

Ten integrations (`--integrations`), each with its own 15-column target table (bench_sync.py's), read the same
`erp-sync sandbox` process (`--rows` customers) and run a first load (`full`) each, every run in its own engine
process (bench_sync.py's child: build the app as the CLI does, then `SyncRunner.run`). At once: all children are
started together and begin their runs at one moment, into one SQLite file (WAL, one writer at a time: page
transactions queue on BEGIN IMMEDIATE and the busy timeout) or one PostgreSQL database of a throw-away cluster
(tests/postgres_cluster.py). One after another: the same ten, each child started when the last one ended, on a
fresh database. The wall time is read from the runs table (first start to last end; one after another it includes
each child's start-up between runs, so the sum of the runs' own walls is printed too).

    .venv/bin/python benchmarks/bench_concurrent_runs.py [--databases sqlite postgresql] [--integrations 10]
        [--rows 30000]

Prints wall time, combined rows/s, each run's status, counts, wall and CPU, and the lock waits seen: on PostgreSQL
the number of samples (every 0.2 s) with a lock not granted, on SQLite any "database is locked" / busy message of a
child. Exits 1 when a run did not succeed or a table or the bindings do not hold every row exactly once. Not part
of `make test`; the figures are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_sync import ROOT, SandboxProcess, bench_settings, integration_spec, table_ddl
from load_support import RESULTS_DIR, LoadSampler, start_postgres
from sqlalchemy import text

BENCH_SYNC = Path(__file__).resolve().parent / "bench_sync.py"
SETUP_SECONDS = 15.0  # ten children import and build the app within this on 2 busy cores; then all start together
LOCK_WORDS = ("database is locked", "sqlite_busy", "database table is locked")


def prepare(url: str, folder: Path, secret: str, sandbox_url: str, count: int) -> list[int]:
    """Migrate; create `count` target tables `customers_NN` and an integration for each."""
    from erp_sync.bootstrap import build
    from erp_sync.db.migrate import upgrade

    upgrade(url)
    app = build(bench_settings(url, str(folder), secret), with_scheduler=False)
    try:
        ids = []
        for number in range(count):
            with app.engine.begin() as conn:
                conn.execute(text(table_ddl(f"customers_{number:02d}", app.engine.dialect.name)))
            spec = integration_spec(sandbox_url, None)
            spec.update(name=f"at-once-{number:02d}", target={"table": f"customers_{number:02d}"})
            ids.append(int(app.integrations.create(spec).id))
        return ids
    finally:
        app.close()


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    """One first load in its own process; a child that crashed is a result too, with its stderr."""
    done = subprocess.run([sys.executable, str(BENCH_SYNC), "--child"], input=json.dumps(job), capture_output=True,
                          text=True, cwd=ROOT, check=False)
    found = [line for line in done.stdout.splitlines() if line.startswith("{")]
    result = json.loads(found[-1]) if done.returncode == 0 and found else {
        "status": f"child exited {done.returncode}", "error": done.stderr[-2000:], "stats": {}}
    result["lock_messages"] = sum(done.stderr.lower().count(word) for word in LOCK_WORDS)
    result["integration_id"] = job["integration_id"]
    return result


class LockSampler:
    """PostgreSQL: every 0.2 s, how many locks are waited for (pg_locks, not granted) in the database."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.samples, self.waiting = engine, 0, 0
        self.max_waiting = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.wait(0.2):
                waiting = int(conn.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one())
                conn.rollback()
                self.samples += 1
                self.waiting += waiting > 0
                self.max_waiting = max(self.max_waiting, waiting)

    def __enter__(self) -> LockSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def run_all(jobs: list[dict[str, Any]], at_once: bool) -> list[dict[str, Any]]:
    if not at_once:
        return [run_child(job) for job in jobs]
    start_at = time.time() + SETUP_SECONDS
    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run_child, [{**job, "start_at": start_at} for job in jobs]))


def check_database(url: str, ids: list[int], rows: int) -> dict[str, Any]:
    from erp_sync.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            span = conn.execute(text("SELECT min(started_at), max(finished_at) FROM erp_sync_runs")).one()
            tables = {n: tuple(conn.execute(text(f"SELECT count(*), count(DISTINCT erp_id) FROM customers_{n:02d}"))
                               .one()) for n in range(len(ids))}
            bindings = dict(conn.execute(text("SELECT integration_id, count(*) FROM erp_sync_bindings "
                                              "GROUP BY integration_id")).all())
    finally:
        engine.dispose()
    wrong = [f"customers_{n:02d}: {count} rows, {distinct} distinct" for n, (count, distinct) in tables.items()
             if count != rows or distinct != rows]
    wrong += [f"integration {i}: {bindings.get(i, 0)} bindings" for i in ids if bindings.get(i, 0) != rows]
    return {"wall_seconds": (moment(span[1]) - moment(span[0])).total_seconds(), "wrong": wrong}


def moment(value: datetime | str) -> datetime:
    """A timestamp as read by plain SQL: a datetime (PostgreSQL) or its text (SQLite)."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def one_mode(kind: str, at_once: bool, args: argparse.Namespace, folder: Path,
             new_url: Callable[[str], str], sandbox: SandboxProcess) -> dict[str, Any]:
    url = new_url("at_once" if at_once else "one_by_one")
    secret = Fernet.generate_key().decode()
    ids = prepare(url, folder, secret, sandbox.url, args.integrations)
    jobs = [{"url": url, "instance_dir": str(folder), "secret": secret, "integration_id": i, "profile": None}
            for i in ids]
    with LoadSampler() as load:
        if kind == "postgresql":
            from erp_sync.db.engine import make_engine

            engine = make_engine(url)
            with LockSampler(engine) as sampler:
                results = run_all(jobs, at_once)
            engine.dispose()
            locks = {"samples": sampler.samples, "samples_with_a_wait": sampler.waiting,
                     "most_waiting_at_once": sampler.max_waiting}
        else:
            results = run_all(jobs, at_once)
            locks = {"lock_messages": sum(r["lock_messages"] for r in results)}
    checked = check_database(url, ids, args.rows)
    total, runs_sum = args.rows * len(ids), sum(r.get("wall", 0.0) for r in results)
    return {"mode": "at once" if at_once else "one after another", "wall_seconds": round(checked["wall_seconds"], 2),
            "rows_per_second": round(total / checked["wall_seconds"]), "runs_sum_seconds": round(runs_sum, 2),
            "rows_per_second_of_runs_sum": round(total / runs_sum) if runs_sum else None,
            "locks": locks, "load_average": load.summary(),
            "wrong": checked["wrong"], "runs": [summary(r) for r in results]}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    stats = result.get("stats", {})
    return {"integration": result["integration_id"], "status": result["status"],
            "inserted": stats.get("inserted"), "errors": stats.get("errors"),
            "wall": round(result.get("wall", 0.0), 2), "cpu": round(result.get("cpu", 0.0), 2),
            "error": (result.get("error") or "")[:300] or None}


def problems_of(kind: str, mode: dict[str, Any], rows: int) -> list[str]:
    found = [f"{kind}, {mode['mode']}: {w}" for w in mode["wrong"]]
    found += [f"{kind}, {mode['mode']}: run of integration {r['integration']} {r['status']} "
              f"(inserted {r['inserted']}, errors {r['errors']}): {r['error']}" for r in mode["runs"]
              if r["status"] != "succeeded" or r["inserted"] != rows or r["errors"]]
    return found


def measure(kind: str, args: argparse.Namespace, folder: Path) -> list[dict[str, Any]]:
    cluster = start_postgres() if kind == "postgresql" else None
    sandbox = SandboxProcess(args.rows, folder / f"sandbox-{kind}.log")
    try:
        def new_url(name: str) -> str:
            return cluster.create_database(name) if cluster else f"sqlite:///{folder / (name + '.sqlite3')}"

        return [one_mode(kind, at_once, args, folder, new_url, sandbox) for at_once in (True, False)]
    finally:
        sandbox.stop()
        if cluster is not None:
            cluster.stop()


def print_modes(kind: str, modes: list[dict[str, Any]], rows: int) -> None:
    for mode in modes:
        walls = sorted(r["wall"] for r in mode["runs"])
        print(f"{kind:<10} {mode['mode']:<18} {len(mode['runs'])} x {rows:,} rows: wall {mode['wall_seconds']:.1f} s, "
              f"{mode['rows_per_second']:,} rows/s combined; runs {walls[0]:.1f}-{walls[-1]:.1f} s each, "
              f"{mode['runs_sum_seconds']:.1f} s together; "
              f"statuses {sorted({r['status'] for r in mode['runs']})}; locks {mode['locks']}; "
              f"load {mode['load_average']}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--integrations", type=int, default=10)
    parser.add_argument("--rows", type=int, default=30_000, help="customers in the sandbox: each run's first load")
    args = parser.parse_args()
    results, problems = {}, []
    with tempfile.TemporaryDirectory(prefix="bench-at-once-") as tmp:
        for kind in args.databases:
            results[kind] = measure(kind, args, Path(tmp))
            print_modes(kind, results[kind], args.rows)
            problems += [p for mode in results[kind] for p in problems_of(kind, mode, args.rows)]
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"concurrent-runs-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps({"args": vars(args), "results": results}, indent=2))
    print("\n".join(f"FAILED: {p}" for p in problems) if problems else
          "held: every run succeeded, every row present once in its table and its bindings")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
