"""End-to-end sync benchmark: the SoftOne sandbox, served by its own process, synced into SQLite and PostgreSQL.

For each row count and database: start `erp-sync sandbox` as a separate process (it takes the other core, as a
remote ERP would), create a fresh database, migrate it, create a 15-column `customers` table and one integration,
then run four phases, each in a child Python process so that its peak RSS is its own:

    fetch only      every page read as a run reads it, nothing mapped or written: the ceiling that the sandbox,
                    HTTP and the connector set for the phases below (no target; reported for context)
    first load      full=True into the empty table                    (inserted == rows)
    unchanged       full=True again, nothing changed in the sandbox   (unchanged == rows)
    1% changed      POST /_sandbox/rows/CUSTOMER/touch every 100th row (REMARKS + UPDDATE), then full=True
                                                                      (updated == rows/100)

The other three are each a full `SyncRunner.run`. Rates are rows fetched / wall time of the phase in the child
(imports and setup excluded). The reference
limit, in the same invocation: a plain stdlib `sqlite3` `executemany` of `INSERT ... ON CONFLICT (erp_id) DO UPDATE
... WHERE excluded.row_hash IS NOT ref.row_hash` of the same rows, as the sandbox serves them (generated in-process
through the sandbox's own data and browser modules, decoded from Windows-1253 as the client does, mapped and
hashed with the run's mapping plan, all untimed), into a fresh SQLite file, one transaction, WAL,
synchronous=NORMAL, default page cache like the engine's connections. Every figure is printed as a ratio to the
reference first-load rate (the issue's targets: first load >= 30%, unchanged re-sync >= 50%); the reference
re-sync rate (the same executemany again, every row guarded away) is printed too. Peak memory (VmHWM of the
phase's child) must not grow with the row count: the largest row count's may exceed the smallest's by at most 25%
or 32 MB.

Sandbox quirks stay at their defaults (Windows-1253 bodies, every 3rd response gzipped, raw TABs, reqIDs expiring
after 50 getBrowserData calls, 20-minute sessions): the connector reopens the browser and resumes at its offset,
which the sandbox-side getBrowserInfo count shows. The only change a benchmark needs is the bulk `touch`.

    .venv/bin/python benchmarks/bench_sync.py [--rows 100000 1000000] [--databases sqlite postgresql]
        [--page-size N] [--repeat N] [--output results.json] [--profile]

Results go to benchmarks/results/ (git-ignored). Noise between runs is 10-40% on small machines: compare the
ratios of one run, not absolute rates across runs. `--repeat 3` runs the reference and every case three times
(each case on a fresh database and sandbox, each reference before its cases) and reports per phase the run with the
median rate against the median reference timing, with the spread of the ratios. `--profile` runs each phase under
cProfile (rates are then not comparable) and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "tests"))  # postgres_cluster

SEED = 1
COMPANY = "1000"
ZONE = "Europe/Athens"
TOUCH_EVERY = 100  # 1% of the rows change before the third phase
TOUCH_FIELDS = {"REMARKS": "benchmark: changed"}
REFERENCE_CHUNK = 100_000
PHASES = ("fetch only", "first load", "unchanged", "1% changed")
TARGETS = {"first load": 0.30, "unchanged": 0.50}
RSS_SLACK = (1.25, 32.0)  # peak RSS of the largest row count <= max(smallest * 1.25, smallest + 32 MB)

# (ERP field, local column, mapping type, column DDL): the 13 columns of the sandbox's CUSTOMER browser, its
# ZOOMINFO record reference, and UPDDATE once more as the ERP's own text (15, the width of the reference figures).
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("CUSTOMER.TRDR", "erp_id", "integer", "BIGINT NOT NULL"),
    ("ZOOMINFO", "erp_ref", "string", "VARCHAR(40)"),
    ("CUSTOMER.CODE", "code", "string", "VARCHAR(25) NOT NULL"),
    ("CUSTOMER.NAME", "name", "string", "VARCHAR(128)"),
    ("CUSTOMER.AFM", "vat_number", "string", "VARCHAR(20)"),
    ("CUSTOMER.EMAIL", "email", "string", "VARCHAR(128)"),
    ("CUSTOMER.PHONE01", "phone", "string", "VARCHAR(32)"),
    ("CUSTOMER.CITY", "city", "string", "VARCHAR(64)"),
    ("CUSTOMER.ZIP", "zip", "string", "VARCHAR(10)"),
    ("CUSTOMER.ADDRESS", "address", "string", "VARCHAR(128)"),
    ("CUSTOMER.ISACTIVE", "is_active", "boolean", "BOOLEAN"),
    ("CUSTOMER.REMARKS", "remarks", "string", "TEXT"),
    ("CUSTOMER.INSDATE", "erp_created_at", "datetime", "{ts}"),
    ("CUSTOMER.UPDDATE", "erp_updated_at", "datetime", "{ts}"),
    ("CUSTOMER.UPDDATE", "erp_updated_text", "string", "VARCHAR(19)"),
)
KEY = "erp_id"
TIMESTAMP_DDL = {"sqlite": "DATETIME", "postgresql": "TIMESTAMP WITH TIME ZONE"}


def table_ddl(table: str, dialect: str, extra: str = "") -> str:
    columns = ",\n    ".join(f"{name} {ddl.format(ts=TIMESTAMP_DDL[dialect])}" for _, name, _, ddl in COLUMNS)
    return f"CREATE TABLE {table} (\n    {columns},{extra}\n    CONSTRAINT uq_{table}_{KEY} UNIQUE ({KEY})\n)"


def integration_spec(base_url: str, page_size: int | None) -> dict[str, Any]:
    return {
        "name": "bench-customers",
        "connector": "softone",
        "connection": {"baseUrl": base_url, "username": "demo", "password": "demo", "appId": "1001",
                       "company": COMPANY, "branch": "1000", "module": "0", "refId": "1", "serverTimezone": ZONE},
        "source": {"object": "CUSTOMER", "mode": "browser", "cursorField": "CUSTOMER.UPDDATE",
                   **({"pageSize": page_size} if page_size else {})},
        "target": {"table": "customers"},
        "mappings": [{"source": source, "target": target, "type": type_} for source, target, type_, _ in COLUMNS],
        "keys": [KEY],
        "schedule": {"cronExpression": "0 3 * * *", "timezone": ZONE},
        "deletePolicy": "ignore",
    }


def bench_settings(database_url: str, instance_dir: str, secret_key: str) -> Any:
    from erp_sync.settings import load_settings

    return load_settings({
        "ERP_SYNC_DATABASE_URL": database_url, "ERP_SYNC_INSTANCE_DIR": instance_dir,
        "ERP_SYNC_API_TOKEN": "bench-token", "CRON_SECRET": "bench-cron", "ERP_SYNC_SECRET_KEYS": secret_key,
        "ERP_SYNC_SANDBOX": "off", "ERP_SYNC_SCHEDULER": "off", "ERP_SYNC_LOG_LEVEL": "WARNING",
    })


# --- the reference: plain sqlite3 executemany ------------------------------------------------------------------

@dataclass
class Reference:
    rows: int
    load_seconds: float
    resync_seconds: float

    @property
    def load_rate(self) -> float:
        return self.rows / self.load_seconds

    @property
    def resync_rate(self) -> float:
        return self.rows / self.resync_seconds


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):  # as the engine stores an aware datetime on SQLite: naive UTC text
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def reference_params(rows: int) -> list[list[tuple[Any, ...]]]:
    """The rows the sandbox serves, as the engine maps them, with their row hash, in chunks; untimed."""
    from erp_sync.domain.mapping import FieldMapping, MappingPlan
    from erp_sync.sandbox.browser import page
    from erp_sync.sandbox.data import CustomerRows
    from erp_sync.sandbox.schema import CUSTOMER
    from erp_sync.sandbox.store import ObjectStore

    plan = MappingPlan.compile([FieldMapping(s, t, ty) for s, t, ty, _ in COLUMNS], [KEY], ZONE)
    bound = plan.bind(("ZOOMINFO", *(f"{CUSTOMER.name}.{name}" for name in CUSTOMER.browser)))
    store = ObjectStore(CustomerRows(SEED, rows, COMPANY))
    keys = store.keys()
    chunks = []
    for start in range(0, rows, REFERENCE_CHUNK):
        # wire form is the Windows-1253 byte per code point; decoding it gives exactly what the client reads
        served = [[v.encode("latin-1").decode("cp1253") for v in row]
                  for row in page(store, keys, start, REFERENCE_CHUNK, wire=True)]
        mapped = bound.map_rows(served)
        if mapped.errors:
            raise SystemExit(f"reference rows do not map: {mapped.errors[:3]}")
        chunks.append([(*map(_sqlite_value, values), row_hash)
                       for values, row_hash in zip(mapped.values, mapped.hashes, strict=True)])
    return chunks


def run_reference(rows: int, folder: Path) -> Reference:
    chunks = reference_params(rows)
    path = folder / "reference.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute(table_ddl("ref", "sqlite", "\n    row_hash TEXT,"))
        names = [name for _, name, _, _ in COLUMNS] + ["row_hash"]
        sets = ", ".join(f"{n} = excluded.{n}" for n in names if n != KEY)
        sql = (f"INSERT INTO ref ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
               f"ON CONFLICT ({KEY}) DO UPDATE SET {sets} WHERE excluded.row_hash IS NOT ref.row_hash")
        seconds = []
        for expected in (rows, 0):
            changes = db.total_changes
            started = time.perf_counter()
            db.execute("BEGIN")
            for chunk in chunks:
                db.executemany(sql, chunk)
            db.execute("COMMIT")
            seconds.append(time.perf_counter() - started)
            if db.total_changes - changes != expected:
                raise SystemExit(f"reference wrote {db.total_changes - changes} rows, expected {expected}")
    finally:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return Reference(rows, seconds[0], seconds[1])


# --- the sandbox process ---------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class SandboxProcess:
    """`erp-sync sandbox` in its own process, with its admin surface."""

    def __init__(self, rows: int, log_path: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "erp_sync.cli", "sandbox", "--host", "127.0.0.1", "--port", str(self.port),
             "--rows", str(rows), "--seed", str(SEED)], stdout=self._log, stderr=self._log, cwd=ROOT)
        self.http = httpx.Client(timeout=120)
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.http.get(self.base + "/_sandbox/stats").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the sandbox did not start; see {log_path}")
            time.sleep(0.1)

    @property
    def url(self) -> str:
        return self.base + "/s1services"

    def stats(self) -> dict[str, Any]:
        stats = self.http.get(self.base + "/_sandbox/stats").json()
        stats["cpu_seconds"] = _cpu_seconds(self.process.pid)
        return stats

    def touch(self, every: int) -> int:
        answer = self.http.post(self.base + "/_sandbox/rows/CUSTOMER/touch",
                                json={"every": every, "fields": TOUCH_FIELDS})
        answer.raise_for_status()
        return int(answer.json()["touched"])

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


# --- one phase, in a child process -----------------------------------------------------------------------------

def _status_mb(key: str) -> float:
    """A memory figure of this process from /proc/self/status (VmRSS: now, VmHWM: peak), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def child_main(job: dict[str, Any]) -> dict[str, Any]:
    """Run one full sync and measure it; the job comes as JSON on stdin, the result goes out as JSON.

    Peak RSS is VmHWM, the high-water mark of this process's own address space. `ru_maxrss` is reported too but
    not used: Linux carries the parent's high-water mark over fork/vfork + exec into it, so here it would show the
    benchmark parent (which held the reference rows), not the sync."""
    from erp_sync.bootstrap import build, settle_long_lived_objects

    app = build(bench_settings(job["url"], job["instance_dir"], job["secret"]), with_scheduler=False)
    settle_long_lived_objects()  # as the CLI does after building
    if job.get("fetch_only"):
        return fetch_only(app, job["integration_id"])
    profiler = cProfile.Profile() if job.get("profile") else None
    baseline = _status_mb("VmRSS")
    if job.get("start_at"):  # bench_split.py: runs in several children start at one moment, set-up done
        time.sleep(max(0.0, job["start_at"] - time.time()))
    try:
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        outcome = app.runner.run(job["integration_id"], "cli", full=True)
        if profiler:
            profiler.disable()
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        app.close()
    if profiler:
        profiler.dump_stats(job["profile"])
    return {"status": str(outcome.status), "error": outcome.error_message, "stats": outcome.stats.as_dict(),
            "wall": wall, "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "baseline_rss_mb": baseline, "peak_rss_mb": _status_mb("VmHWM"), "ru_maxrss_mb": after.ru_maxrss / 1024}


def fetch_only(app: Any, integration_id: int) -> dict[str, Any]:
    """The ceiling the sandbox and the connector set: every page read as a run reads it (the connector's own
    pages asked for ahead), nothing mapped or written."""
    from erp_sync.services.sync import source_query

    spec = app.integrations.get(integration_id).spec
    connector = app.connectors(spec)
    try:
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        fetched = sum(len(page.rows) for page in connector.pages(source_query(spec), None))
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        connector.close()
        app.close()
    stats = {"fetched": fetched, "inserted": 0, "updated": 0, "unchanged": 0, "errors": 0}
    return {"status": "succeeded", "error": None, "stats": stats, "wall": wall,
            "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
            "baseline_rss_mb": 0.0, "peak_rss_mb": _status_mb("VmHWM"), "ru_maxrss_mb": after.ru_maxrss / 1024}


def run_child(job: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child"], input=json.dumps(job),
                          capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the phase's child process failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])


# --- one (rows, database) case ---------------------------------------------------------------------------------

@dataclass
class PhaseResult:
    rows: int
    database: str
    phase: str
    fetched: int
    inserted: int
    updated: int
    unchanged: int
    errors: int
    wall: float
    cpu_share: float
    sandbox_cpu_share: float
    baseline_rss_mb: float
    peak_rss_mb: float
    browser_opens: int
    requests: int
    rate: float = 0.0
    ratio: float = 0.0
    ratio_resync: float = 0.0
    target: float | None = None
    checks: list[str] = field(default_factory=list)
    repeat: int = 1
    ratio_low: float = 0.0  # lowest and highest ratio of this phase over the repeats (--repeat)
    ratio_high: float = 0.0


def expected_counts(phase: str, rows: int) -> dict[str, int]:
    touched = len(range(0, rows, TOUCH_EVERY))
    return {"fetch only": {},
            "first load": {"inserted": rows, "updated": 0, "unchanged": 0},
            "unchanged": {"inserted": 0, "updated": 0, "unchanged": rows},
            "1% changed": {"inserted": 0, "updated": touched, "unchanged": rows - touched}}[phase]


def prepare_database(url: str, instance_dir: Path, secret: str, sandbox_url: str, page_size: int | None) -> int:
    """Migrate, create the target table and the integration; returns the integration's id."""
    from sqlalchemy import text

    from erp_sync.bootstrap import build
    from erp_sync.db.migrate import upgrade

    upgrade(url)
    app = build(bench_settings(url, str(instance_dir), secret), with_scheduler=False)
    try:
        with app.engine.begin() as conn:
            conn.execute(text(table_ddl("customers", app.engine.dialect.name)))
        return int(app.integrations.create(integration_spec(sandbox_url, page_size)).id)
    finally:
        app.close()


def count_target(url: str) -> int:
    from sqlalchemy import text

    from erp_sync.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM customers")).scalar_one())
    finally:
        engine.dispose()


def run_database(rows: int, database: str, workdir: Path, cluster: Any, args: argparse.Namespace, secret: str,
                 stamp: str, repeat: int) -> list[PhaseResult]:
    """One case on a fresh database: a new SQLite file (removed afterwards) or a new PostgreSQL database."""
    if database == "sqlite":
        path = workdir / f"bench-{rows}.sqlite3"
        url = f"sqlite:///{path}"
    else:
        url = cluster.create_database("bench")
    try:
        results = run_case(rows, database, url, workdir, args, secret, stamp)
    finally:
        if database == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    for result in results:
        result.repeat = repeat
    return results


def run_case(rows: int, database: str, url: str, workdir: Path, args: argparse.Namespace,
             secret: str, stamp: str) -> list[PhaseResult]:
    sandbox = SandboxProcess(rows, workdir / "sandbox.log")
    results = []
    try:
        instance = workdir / f"instance-{database}-{rows}"
        instance.mkdir(exist_ok=True)
        integration_id = prepare_database(url, instance, secret, sandbox.url, args.page_size)
        for phase in PHASES:
            if phase == "1% changed":
                touched = sandbox.touch(TOUCH_EVERY)
                assert touched == expected_counts(phase, rows)["updated"], touched
            profile = (RESULTS_DIR / f"profile-{stamp}-{database}-{rows}-{phase.replace(' ', '_').replace('%', '')}"
                       ".prof") if args.profile and phase != "fetch only" else None  # fetch only is not a run
            before = sandbox.stats()
            got = run_child({"url": url, "instance_dir": str(instance), "secret": secret,
                             "integration_id": integration_id, "profile": str(profile) if profile else None,
                             "fetch_only": phase == "fetch only"})
            after = sandbox.stats()
            if got["status"] != "succeeded":
                raise SystemExit(f"{database} {rows} {phase}: run {got['status']}: {got['error']}")
            stats = got["stats"]
            calls_before, calls_after = before["calls"], after["calls"]
            result = PhaseResult(
                rows=rows, database=database, phase=phase, fetched=stats["fetched"], inserted=stats["inserted"],
                updated=stats["updated"], unchanged=stats["unchanged"], errors=stats["errors"], wall=got["wall"],
                cpu_share=got["cpu"] / got["wall"],
                sandbox_cpu_share=(after["cpu_seconds"] - before["cpu_seconds"]) / got["wall"],
                baseline_rss_mb=got["baseline_rss_mb"], peak_rss_mb=got["peak_rss_mb"],
                browser_opens=calls_after.get("getBrowserInfo", 0) - calls_before.get("getBrowserInfo", 0),
                requests=after["requests"] - before["requests"])
            wanted = {"fetched": rows, "errors": 0, **expected_counts(phase, rows)}
            wrong = {k: (getattr(result, k), v) for k, v in wanted.items() if getattr(result, k) != v}
            if wrong:
                raise SystemExit(f"{database} {rows} {phase}: wrong counts (got, expected): {wrong}")
            if phase == "first load" and (in_table := count_target(url)) != rows:
                raise SystemExit(f"{database} {rows}: {in_table} rows in customers after the first load")
            print(f"  {database:<10} {rows:>9,} {phase:<11} {rows / got['wall']:>9,.0f} rows/s  "
                  f"{got['wall']:6.1f} s  peak RSS {got['peak_rss_mb']:.0f} MB", flush=True)
            if profile:
                print_profile(profile)
            results.append(result)
    finally:
        sandbox.stop()
    return results


def print_profile(path: Path, top: int = 25) -> None:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    print("\n".join("      " + line for line in out.getvalue().splitlines() if line.strip()), flush=True)


# --- reporting -------------------------------------------------------------------------------------------------

def median_reference(measured: list[Reference]) -> Reference:
    """The reference of one row count over its repeats: the median time of each of its two figures."""
    return Reference(measured[0].rows, statistics.median(r.load_seconds for r in measured),
                     statistics.median(r.resync_seconds for r in measured))


def rate_results(results: list[PhaseResult], references: dict[int, Reference]) -> list[PhaseResult]:
    """Rates and ratios of every phase run; returns one result per (rows, database, phase): the run with the
    median rate (of an even number of repeats, the lower middle), with the spread of the ratios over the repeats."""
    groups: dict[tuple[int, str, str], list[PhaseResult]] = {}
    for r in results:
        ref = references[r.rows]
        r.rate = r.fetched / r.wall
        r.ratio = r.rate / ref.load_rate
        r.ratio_resync = r.rate / ref.resync_rate
        r.target = TARGETS.get(r.phase)
        groups.setdefault((r.rows, r.database, r.phase), []).append(r)
    medians = []
    for runs in groups.values():
        middle = statistics.median_low(r.rate for r in runs)
        chosen = next(r for r in runs if r.rate == middle)
        chosen.ratio_low, chosen.ratio_high = min(r.ratio for r in runs), max(r.ratio for r in runs)
        medians.append(chosen)
    return medians


def memory_verdicts(results: list[PhaseResult]) -> dict[str, dict[str, Any]]:
    """Per database: the peak RSS at the smallest and the largest row count, and whether it stayed flat."""
    verdicts = {}
    for database in dict.fromkeys(r.database for r in results):
        peaks: dict[int, float] = {}
        for r in results:
            if r.database == database:
                peaks[r.rows] = max(peaks.get(r.rows, 0.0), r.peak_rss_mb)
        small, large = min(peaks), max(peaks)
        limit = max(peaks[small] * RSS_SLACK[0], peaks[small] + RSS_SLACK[1])
        verdicts[database] = {"peaks_mb": peaks, "limit_mb": limit,
                              "holds": None if small == large else peaks[large] <= limit}
    return verdicts


def print_table(results: list[PhaseResult], references: dict[int, Reference],
                memory: dict[str, dict[str, Any]], repeats: int) -> None:
    print()
    if repeats > 1:
        print(f"each figure: the median of {repeats} runs (the reference: the median of its {repeats} timings); "
              "'spread' gives the lowest and highest ratio of the runs")
    for rows, ref in references.items():
        print(f"reference, {rows:,} rows: plain sqlite3 executemany upsert, one transaction, WAL, synchronous=NORMAL:"
              f" first load {ref.load_rate:,.0f} rows/s ({ref.load_seconds:.2f} s); re-sync, every row guarded away"
              f" {ref.resync_rate:,.0f} rows/s ({ref.resync_seconds:.2f} s)")
    header = (f"{'rows':>9} {'database':<10} {'phase':<11} {'rows/s':>9} {'x ref':>6} {'target':>14} "
              f"{'x ref re-sync':>13} {'inserted':>9} {'updated':>8} {'unchanged':>9} {'wall s':>7} "
              f"{'cpu':>5} {'sandbox':>7} {'RSS MB':>7} {'opens':>5}" + (f" {'spread':>9}" if repeats > 1 else ""))
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        target = "" if r.target is None else f">={r.target:.0%} {'holds' if r.ratio >= r.target else 'MISSED'}"
        print(f"{r.rows:>9,} {r.database:<10} {r.phase:<11} {r.rate:>9,.0f} {r.ratio:>6.0%} {target:>14} "
              f"{r.ratio_resync:>13.0%} {r.inserted:>9,} {r.updated:>8,} {r.unchanged:>9,} {r.wall:>7.1f} "
              f"{r.cpu_share:>5.0%} {r.sandbox_cpu_share:>7.0%} {r.peak_rss_mb:>7.0f} {r.browser_opens:>5}"
              + (f" {r.ratio_low:>4.0%}-{r.ratio_high:.0%}" if repeats > 1 else ""))
    print()
    print("x ref: rate / reference first-load rate of the same row count. cpu / sandbox: CPU time of the engine's "
          "child / of the sandbox process per wall second. RSS MB: peak RSS (VmHWM) of the child, imports included. "
          "opens: getBrowserInfo calls (1 + reopens after reqID expiry).")
    for database, verdict in memory.items():
        peaks = ", ".join(f"{rows:,}: {mb:.0f} MB" for rows, mb in verdict["peaks_mb"].items())
        holds = {None: "n/a (needs two row counts)", True: "holds", False: "MISSED"}[verdict["holds"]]
        print(f"peak RSS, {database}: {peaks}; flat (largest <= {verdict['limit_mb']:.0f} MB): {holds}")


# --- main ------------------------------------------------------------------------------------------------------

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000], help="customer counts")
    parser.add_argument("--databases", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--page-size", type=int, default=None,
                        help="the integration's pageSize (browser LIMIT); default: the integration default (5000)")
    parser.add_argument("--output", default="results.json", help="JSON results, under benchmarks/results/")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the reference and every case this many times and report the medians (the "
                             "machine's noise is 10-40%% between runs; 3 takes three times as long)")
    parser.add_argument("--profile", action="store_true", help="run each phase under cProfile and print the top")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child_main(json.loads(sys.stdin.read()))))
        return
    started = time.monotonic()
    load = os.getloadavg()[0]
    if load > 0.5:
        print(f"warning: load average {load:.2f} before the start; other processes share the 2 cores and the "
              "figures will be lower and noisier", file=sys.stderr, flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    secret = Fernet.generate_key().decode()
    cluster = None
    if "postgresql" in args.databases:
        from postgres_cluster import PostgresCluster, find_bin_dir

        bin_dir = find_bin_dir()
        if bin_dir is None:
            sys.exit("PostgreSQL is not installed here; run with --databases sqlite")
        cluster = PostgresCluster(bin_dir).start()
    measured: dict[int, list[Reference]] = {}
    results: list[PhaseResult] = []
    print(f"sandbox seed {SEED}, {len(COLUMNS)} mapped columns, pages of {args.page_size or 'the default size'}, "
          f"1% = every {TOUCH_EVERY}th row touched", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-sync-") as folder:
            workdir = Path(folder)
            for rows in args.rows:
                for repeat in range(1, args.repeat + 1):
                    ref = run_reference(rows, workdir)
                    measured.setdefault(rows, []).append(ref)
                    gc.collect()
                    print(f"  reference  {rows:>9,} first load  {ref.load_rate:>9,.0f} rows/s, re-sync "
                          f"{ref.resync_rate:,.0f} rows/s" + (f"  (run {repeat} of {args.repeat})"
                                                              if args.repeat > 1 else ""), flush=True)
                    for database in args.databases:
                        results += run_database(rows, database, workdir, cluster, args, secret, stamp, repeat)
    finally:
        if cluster is not None:
            cluster.stop()
    references = {rows: median_reference(refs) for rows, refs in measured.items()}
    medians = rate_results(results, references)
    memory = memory_verdicts(results)
    print_table(medians, references, memory, args.repeat)
    elapsed = time.monotonic() - started
    print(f"\ntotal {elapsed / 60:.1f} min")
    output = Path(args.output)
    output = output if output.is_absolute() else RESULTS_DIR / output
    output.write_text(json.dumps({
        "when": stamp, "page_size": args.page_size, "columns": len(COLUMNS), "seconds": elapsed,
        "load_average_at_start": load, "cpus": os.cpu_count(),
        "repeats": args.repeat,
        "references": {rows: {**asdict(ref), "load_rate": ref.load_rate, "resync_rate": ref.resync_rate,
                              "measured": [asdict(m) for m in measured[rows]]}
                       for rows, ref in references.items()},
        "medians": [asdict(r) for r in medians], "results": [asdict(r) for r in results], "memory": memory,
    }, indent=2))
    print(f"results: {output}")


if __name__ == "__main__":
    main()
