"""Read latency of the API and the console while runs write, on SQLite and on PostgreSQL.

`erp-sync serve` (waitress, the production server path) in its own process, scheduler off, on a fresh SQLite file or
a database of a throw-away PostgreSQL cluster (tests/postgres_cluster.py); `erp-sync sandbox` in its own process.
Two phases of `--seconds` each:

1. baseline: `--readers` client threads (httpx, one connection each, signed in to the console with the admin token
   as a browser is) cycle through the routes below as fast as they are answered, nothing else running;
2. writing: the same readers while `--writers` integrations sync `--rows` rows repeatedly in the served process
   (`POST /api/integrations/<id>/sync {"full": true}`, the next one as soon as the last ended; the first is a first
   load, and before each later one the sandbox changes every `--touch-every`th row, so each re-sync updates rows).

Routes: /healthz, GET /api/integrations, GET /api/integrations/<id> and its /runs, GET /api/monitoring?timeRange=24,
GET /metrics, the console's overview (/) and an integration page (/integrations/<id>).

    .venv/bin/python benchmarks/bench_read_latency.py [--databases sqlite postgresql] [--seconds 40]
        [--readers 8] [--writers 2] [--rows 100000] [--touch-every 10] [--integrations 20]

Prints p50/p95/p99/max per route and phase, requests answered, and the load average. Exits 1 when any read got a
transport error or an answer other than 200, a run did not succeed, or a target table does not hold exactly the
sandbox's rows. Not part of `make test`; the figures are in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # app_fixtures, postgres_cluster, e2e/processes
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx  # noqa: E402
from app_fixtures import API_TOKEN, admin, build_app, customer_integration  # noqa: E402
from bench_sync import SandboxProcess, _cpu_seconds  # noqa: E402
from load_support import RESULTS_DIR, LoadSampler, percentile, start_postgres  # noqa: E402
from processes import process_env, start  # noqa: E402
from sqlalchemy import text  # noqa: E402

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def routes(integration_id: int) -> dict[str, str]:
    return {"healthz": "/healthz", "api integrations": "/api/integrations",
            "api integration": f"/api/integrations/{integration_id}",
            "api runs": f"/api/integrations/{integration_id}/runs",
            "api monitoring 24h": "/api/monitoring?timeRange=24", "metrics": "/metrics",
            "console overview": "/", "console integration": f"/integrations/{integration_id}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sign_in(client: httpx.Client) -> None:
    """As a browser does: the sign-in form's CSRF token, then the admin token; the session cookie stays."""
    form = client.get("/login")
    found = CSRF.search(form.text)
    if found is None:
        raise SystemExit("the console's sign-in page has no csrf_token field")
    answer = client.post("/login", data={"token": API_TOKEN, "csrf_token": found.group(1)})
    if answer.status_code != 302:
        raise SystemExit(f"console sign-in answered {answer.status_code}")


class Readers:
    """`count` threads reading the routes round-robin until `stop`; each read's route, seconds and status kept."""

    def __init__(self, base: str, paths: dict[str, str], count: int) -> None:
        self.base, self.paths, self.count = base, paths, count
        self.samples: list[tuple[str, float, int]] = []
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def run_for(self, seconds: float) -> float:
        self.stop.clear()
        self.samples = []
        threads = [threading.Thread(target=self._read, args=(n,)) for n in range(self.count)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        self.stop.set()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started

    def _read(self, number: int) -> None:
        names = list(self.paths)
        with httpx.Client(base_url=self.base, headers=admin(), timeout=120) as client:
            sign_in(client)
            turn = number
            while not self.stop.is_set():
                name = names[turn % len(names)]
                turn += 1
                started = time.perf_counter()
                try:
                    status = client.get(self.paths[name]).status_code
                except httpx.TransportError:
                    status = 0
                with self._lock:
                    self.samples.append((name, time.perf_counter() - started, status))


class Writers:
    """Each integration synced with `full` again and again through the API, until `stop`; run ids kept."""

    def __init__(self, base: str, ids: list[int], sandbox: SandboxProcess, erp: Any, touch_every: int) -> None:
        self.base, self.ids, self.sandbox, self.erp, self.touch_every = base, ids, sandbox, erp, touch_every
        self.run_ids: list[int] = []
        self.refused: list[str] = []
        self.stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(i,)) for i in ids]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join()

    def _loop(self, integration_id: int) -> None:
        first = True
        with httpx.Client(base_url=self.base, headers=admin(), timeout=120) as client:
            while not self.stop.is_set():
                if not first:
                    self.sandbox.touch(self.touch_every)
                first = False
                answer = client.post(f"/api/integrations/{integration_id}/sync", json={"full": True})
                if answer.status_code != 202:
                    self.refused.append(f"{answer.status_code}: {answer.text[:300]}")
                    return
                run_id = int(answer.json()["data"]["runId"])
                self.run_ids.append(run_id)
                while run_status(self.erp, run_id) in ("claimed", "running"):
                    time.sleep(0.2)


def run_status(erp: Any, run_id: int) -> str:
    with erp.engine.connect() as conn:
        return str(conn.execute(text("SELECT status FROM erp_sync_runs WHERE id = :id"), {"id": run_id}).scalar_one())


def summarize(samples: list[tuple[str, float, int]], wall: float) -> dict[str, Any]:
    by_route: dict[str, list[float]] = defaultdict(list)
    for name, seconds, _ in samples:
        by_route[name].append(seconds * 1000)
    table = {name: {"n": len(ms), "p50": round(percentile(ms, 0.5), 1), "p95": round(percentile(ms, 0.95), 1),
                    "p99": round(percentile(ms, 0.99), 1), "max": round(max(ms), 1)}
             for name, ms in by_route.items()}
    return {"reads": len(samples), "reads_per_second": round(len(samples) / wall, 1), "routes": table,
            "statuses": dict(Counter(status for _, _, status in samples))}


def serve(url: str, folder: Path, threads: int) -> tuple[Any, str]:
    port = free_port()
    env = process_env(url, folder / "instance", ERP_SYNC_SCHEDULER="off", ERP_SYNC_LOG_LEVEL="WARNING")
    server = start(["serve", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)], env,
                   folder / "serve.log")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/healthz").status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"erp-sync serve did not start; see {folder / 'serve.log'}")
        time.sleep(0.2)


def create_integrations(erp: Any, sandbox_url: str, args: argparse.Namespace) -> list[int]:
    ids = []
    for number in range(args.integrations):
        body = customer_integration(
            sandbox_url, name=f"reads-{number:02d}", target={"table": f"customers_{number:02d}",
                                                            "createIfMissing": True},
            source={"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 2000})
        ids.append(erp.integrations.create(body).id)
    return ids


def phase(readers: Readers, seconds: float, server_pid: int) -> dict[str, Any]:
    cpu = _cpu_seconds(server_pid)
    with LoadSampler() as load:
        wall = readers.run_for(seconds)
    result = summarize(readers.samples, wall)
    result.update(seconds=round(wall, 1), server_cpu_per_second=round((_cpu_seconds(server_pid) - cpu) / wall, 2),
                  load_average_1min=load.summary())
    return result


def one_database(kind: str, args: argparse.Namespace, folder: Path, cluster: Any) -> dict[str, Any]:
    url = f"sqlite:///{folder / 'reads.sqlite3'}" if kind == "sqlite" else cluster.create_database("reads")
    sandbox = SandboxProcess(args.rows, folder / "sandbox.log")
    erp = build_app(url, folder / "instance")
    server = None
    try:
        ids = create_integrations(erp, sandbox.url, args)
        server, base = serve(url, folder, args.threads)
        readers = Readers(base, routes(ids[0]), args.readers)
        baseline = phase(readers, args.seconds, server.pid)
        writers = Writers(base, ids[:args.writers], sandbox, erp, args.touch_every)
        writers.start()
        time.sleep(2.0)  # the first runs are under way
        writing = phase(readers, args.seconds, server.pid)
        writers.join()
        outcome = check_writes(erp, writers, ids[:args.writers], args.rows)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        sandbox.stop()
        erp.close()
    return {"baseline": baseline, "writing": writing, **outcome}


def check_writes(erp: Any, writers: Writers, ids: list[int], rows: int) -> dict[str, Any]:
    with erp.engine.connect() as conn:
        runs = conn.execute(text("SELECT id, integration_id, status, fetched, inserted, updated, error_code, "
                                 "error_message, duration_ms FROM erp_sync_runs ORDER BY id")).all()
        counts = {f"customers_{n:02d}": tuple(conn.execute(text(
            f"SELECT count(*), count(DISTINCT erp_id) FROM customers_{n:02d}")).one()) for n in range(len(ids))}
    return {"runs": [dict(r._mapping) for r in runs], "triggers_refused": writers.refused,
            "run_statuses": dict(Counter(r.status for r in runs)),
            "rows_written": sum(r.inserted + r.updated for r in runs), "tables": counts,
            "tables_wrong": [name for name, (n, distinct) in counts.items() if n != rows or distinct != rows]}


def held(result: dict[str, Any]) -> list[str]:
    problems = []
    for name in ("baseline", "writing"):
        bad = {status: n for status, n in result[name]["statuses"].items() if status != 200}
        if bad:
            problems.append(f"{name}: answers other than 200: {bad}")
    if result["triggers_refused"]:
        problems.append(f"sync triggers refused: {result['triggers_refused']}")
    if set(result["run_statuses"]) != {"succeeded"}:
        problems.append(f"runs: {result['run_statuses']}")
    if result["tables_wrong"]:
        problems.append(f"tables without exactly the sandbox's rows: {result['tables_wrong']}")
    return problems


def print_table(kind: str, result: dict[str, Any]) -> None:
    print(f"\n{kind}: baseline {result['baseline']['reads_per_second']} reads/s, writing "
          f"{result['writing']['reads_per_second']} reads/s; runs {result['run_statuses']}, "
          f"{result['rows_written']:,} rows written; server CPU/s {result['baseline']['server_cpu_per_second']} / "
          f"{result['writing']['server_cpu_per_second']}; load {result['baseline']['load_average_1min']} / "
          f"{result['writing']['load_average_1min']}")
    print(f"  {'route':<22} {'baseline p50/p95/p99/max ms':>30} {'writing p50/p95/p99/max ms':>32}")
    for route in result["baseline"]["routes"]:
        cells = []
        for name in ("baseline", "writing"):
            r = result[name]["routes"].get(route, {})
            cells.append("/".join(str(r.get(k, "-")) for k in ("p50", "p95", "p99", "max")))
        print(f"  {route:<22} {cells[0]:>30} {cells[1]:>32}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--databases", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--readers", type=int, default=8)
    parser.add_argument("--writers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--touch-every", type=int, default=10)
    parser.add_argument("--integrations", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8, help="erp-sync serve --threads")
    args = parser.parse_args()
    results, problems = {}, []
    for kind in args.databases:
        results[kind] = measure(kind, args)
        print_table(kind, results[kind])
        problems += [f"{kind}: {p}" for p in held(results[kind])]
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"read-latency-{datetime.now(UTC):%Y%m%dT%H%M%S}.json").write_text(
        json.dumps({"args": vars(args), "results": results}, indent=2, default=str))
    print("\n" + ("\n".join(f"FAILED: {p}" for p in problems) if problems else
                  "held: every read answered 200, every run succeeded, every row present once"))
    return 1 if problems else 0


def measure(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    cluster = start_postgres() if kind == "postgresql" else None
    try:
        with tempfile.TemporaryDirectory(prefix="bench-reads-") as tmp:
            return one_database(kind, args, Path(tmp), cluster)
    finally:
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    sys.exit(main())
