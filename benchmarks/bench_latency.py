"""How much of a slow ERP's latency a run hides: a first load with every SoftOne page delayed.

The sandbox (in this process, on a thread) answers every getBrowserData after `--delay` seconds. A first read of
`--rows` rows in pages of `--page-size` waits `pages x delay` seconds when pages are asked for one at a time: the
serial wait. With requests in flight at once the run waits less; the figure reported is the run's wall time as a
share of the serial wait (lower is better). Each case runs on a fresh SQLite file and a fresh sandbox.

    .venv/bin/python benchmarks/bench_latency.py                      # the default settings, 3 rounds
    .venv/bin/python benchmarks/bench_latency.py --ahead 1 2 4 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sync import bench_settings, integration_spec, table_ddl  # noqa: E402


def one_run(rows: int, page_size: int, delay: float, ahead: int | None, reqid_calls: int | None) -> dict[str, Any]:
    """A first load through the runner; returns its wall time and counts."""
    from cryptography.fernet import Fernet
    from sqlalchemy import text

    from erp_sync.bootstrap import build
    from erp_sync.db.migrate import upgrade
    from erp_sync.sandbox import SandboxConfig, start_in_thread

    sandbox = start_in_thread(SandboxConfig(customers=rows, reqid_max_calls=reqid_calls))
    with tempfile.TemporaryDirectory(prefix="erp-sync-latency-") as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        upgrade(url)
        app = build(bench_settings(url, folder, Fernet.generate_key().decode()), with_scheduler=False)
        try:
            with app.engine.begin() as conn:
                conn.execute(text(table_ddl("customers", "sqlite")))
            spec = integration_spec(sandbox.url, page_size)
            if ahead is not None:
                spec["source"]["requestsAhead"] = ahead
            integration_id = app.integrations.create(spec).id
            sandbox.app.state.set_faults({"slow_page_seconds": {"seconds": delay, "times": 0}})
            started = time.perf_counter()
            outcome = app.runner.run(integration_id, "cli", full=True)
            wall = time.perf_counter() - started
        finally:
            app.close()
            sandbox.stop()
    if not outcome.ok or outcome.stats.inserted != rows:
        raise SystemExit(f"the run did not load every row: {outcome.status} {outcome.error_message}")
    return {"wall": wall, "pages": outcome.stats.pages}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000, help="customers in the sandbox (default 20000)")
    parser.add_argument("--page-size", type=int, default=500, help="source.pageSize (default 500: 40 pages)")
    parser.add_argument("--delay", type=float, default=0.25, help="seconds each page is delayed (default 0.25)")
    parser.add_argument("--ahead", type=int, nargs="*", default=[None],
                        help="source.requestsAhead values to try (default: the integration's default)")
    parser.add_argument("--reqid-calls", type=int, default=50,
                        help="getBrowserData calls a reqID lives for in the sandbox (default 50, as SoftOne)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per case; the median is reported")
    args = parser.parse_args(argv)
    pages = -(-args.rows // args.page_size)
    serial = pages * args.delay
    print(f"{args.rows} rows in {pages} pages of {args.page_size}, each delayed {args.delay}s: serial wait "
          f"{serial:.1f}s; reqIDs live {args.reqid_calls} calls")
    for ahead in args.ahead:
        walls = [one_run(args.rows, args.page_size, args.delay, ahead, args.reqid_calls)["wall"]
                 for _ in range(args.repeat)]
        median = statistics.median(walls)
        label = "default" if ahead is None else str(ahead)
        spread = ", ".join(f"{wall / serial:.0%}" for wall in walls)
        print(f"requestsAhead {label:>7}: median {median:.2f}s = {median / serial:.0%} of the serial wait "
              f"(runs: {spread})")


if __name__ == "__main__":
    main()
