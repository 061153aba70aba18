"""SOAP benchmark: the SOAP sandbox (NAV page services), served by its own process, synced into SQLite.

Starts `erp-sync sandbox --soap --rows N` as a separate process (it takes the other core, as a remote NAV would),
creates a fresh SQLite database with a 10-column `nav_customers` table and one `connector: soap` integration
(profile nav_page, ReadMultiple with bookmarks), then times three phases in this process, each a whole step:

    fetch only      every page read as a run reads it (zeep: HTTP, lxml parse, deserialize to objects, text),
                    nothing mapped or written: the ceiling the sandbox, HTTP and zeep set
    first load      full=True into the empty table          (inserted == rows)
    unchanged       full=True again, nothing changed         (unchanged == rows)

Rates are rows / wall seconds of the phase. `--profile` runs fetch only and the first load under cProfile and
prints the top functions by cumulative and own time (rates are then not comparable).

    .venv/bin/python benchmarks/bench_soap.py [--rows 100000] [--page-size 1000] [--repeat 1] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLE = """CREATE TABLE nav_customers (
    code VARCHAR(20) NOT NULL, name VARCHAR(200), address VARCHAR(200), city VARCHAR(100), post_code VARCHAR(20),
    phone VARCHAR(40), email VARCHAR(200), vat VARCHAR(20), balance NUMERIC(18, 2), modified_on DATE,
    CONSTRAINT uq_nav_customers_code UNIQUE (code))"""
MAPPINGS = [("No", "code", "string"), ("Name", "name", "string"), ("Address", "address", "string"),
            ("City", "city", "string"), ("Post_Code", "post_code", "string"), ("Phone_No", "phone", "string"),
            ("E_Mail", "email", "string"), ("VAT_Registration_No", "vat", "string"),
            ("Balance_LCY", "balance", "decimal"), ("Last_Date_Modified", "modified_on", "date")]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SoapSandboxProcess:
    """`erp-sync sandbox --soap` in its own process."""

    def __init__(self, rows: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "erp_sync.cli", "sandbox", "--soap", "--port", str(self.port), "--rows",
             str(rows)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.base + "/_sandbox/stats", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the SOAP sandbox did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def build_erp(folder: Path) -> Any:
    from erp_sync.bootstrap import build, settle_long_lived_objects
    from erp_sync.db.migrate import upgrade
    from erp_sync.settings import load_settings

    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    upgrade(url)
    app = build(load_settings({
        "ERP_SYNC_DATABASE_URL": url, "ERP_SYNC_INSTANCE_DIR": str(folder),
        "ERP_SYNC_API_TOKEN": "bench-admin-token", "CRON_SECRET": "bench-cron-secret",
        "ERP_SYNC_SECRET_KEYS": Fernet.generate_key().decode(), "ERP_SYNC_SANDBOX": "off",
        "ERP_SYNC_SCHEDULER": "off", "ERP_SYNC_LOG_LEVEL": "WARNING"}), with_scheduler=False)
    with app.engine.begin() as conn:
        conn.execute(text(TABLE))
    settle_long_lived_objects()
    return app


def integration(base: str, page_size: int) -> dict[str, Any]:
    return {
        "name": "bench-nav", "connector": "soap",
        "connection": {"profile": "nav_page", "wsdlUrl": f"{base}/WS/CRONUS/Page/Customer", "username": "demo",
                       "password": "demo", "timeoutSeconds": 120},
        "source": {"object": "Customer", "cursorField": "Last_Date_Modified", "pageSize": page_size},
        "target": {"table": "nav_customers"},
        "mappings": [{"source": s, "target": t, "type": kind} for s, t, kind in MAPPINGS],
        "keys": ["code"], "schedule": {"cronExpression": "0 3 * * *"},
    }


def timed(step: Callable[[], Any], profile: bool) -> tuple[float, Any]:
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    result = step()
    if profiler is not None:
        profiler.disable()
        for order in ("cumulative", "tottime"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(18)
            print(out.getvalue()[:6000])
    return time.perf_counter() - started, result


def one_round(rows: int, page_size: int, profile: bool) -> dict[str, float]:
    from erp_sync.services.sync import source_query

    sandbox = SoapSandboxProcess(rows)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-soap-") as folder:
            app = build_erp(Path(folder))
            record = app.integrations.create(integration(sandbox.base, page_size))

            def fetch() -> int:
                connector = app.connectors(record.spec)
                try:
                    return sum(len(page) for page in connector.pages(source_query(record.spec)))
                finally:
                    connector.close()

            seconds: dict[str, float] = {}
            fetch_seconds, fetched = timed(fetch, profile)
            assert fetched == rows, fetched
            seconds["fetch only"] = fetch_seconds
            for phase, expect in (("first load", "inserted"), ("unchanged", "unchanged")):
                took, outcome = timed(lambda: app.runner.run(record.id, "cli", full=True),
                                      profile and phase == "first load")
                assert outcome.status == "succeeded" and getattr(outcome.stats, expect) == rows, outcome
                seconds[phase] = took
            app.close()
            return seconds
    finally:
        sandbox.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000, help="source.pageSize (NAV's default cap is 1000)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    rounds = [one_round(args.rows, args.page_size, args.profile) for _ in range(args.repeat)]
    print(f"SOAP sandbox, {args.rows:,} customers, pageSize {args.page_size}, SQLite, {args.repeat} round(s):")
    for phase in rounds[0]:
        took = statistics.median(r[phase] for r in rounds)
        print(f"  {phase:<11} {args.rows / took:>9,.0f} rows/s  ({took:.1f} s, median)")
    print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
