"""How far splitting a first load across engine processes could go on this machine.

A first load is one Python process at ~100% of a core (bench_sync.py: engine ~98% CPU). The obvious way past that
is to split a run's pages over several engine processes. Before building that, this measures its ceiling: N whole
first loads started at the same moment, each a full `SyncRunner.run` of its own integration in its own child
process, served by its own sandbox process, written into its own SQLite file. Nothing is shared (no SQLite write
lock to queue for, no hand-over of pages, no coordination), so their combined rate, all rows over the wall time
until the last run ends, is more than a split of one run could reach here. The same N first loads are then run
into one SQLite file (an integration and a target table each), which is what a split would share: one writer.
One first load alone runs in the same invocation, and every figure is a ratio to the same reference as
bench_sync.py's (a plain `sqlite3` `executemany` upsert of the same rows, timed in process).

    .venv/bin/python benchmarks/bench_split.py [--rows 100000] [--processes 2] [--repeat 3]

Each round times the reference, one first load alone, N at once into their own files and N at once into one file
(fresh sandboxes and files each time); the medians over the rounds are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_sync import (
    SandboxProcess,
    bench_settings,
    integration_spec,
    prepare_database,
    run_child,
    run_reference,
    table_ddl,
)

SETUP_SECONDS = 8.0  # a child imports, builds the app and connects within this; then all start together


def add_integration(url: str, folder: Path, secret: str, sandbox_url: str, number: int) -> int:
    """One more integration with its own target table `customers_<number>` in an existing database."""
    from sqlalchemy import text

    from erp_sync.bootstrap import build

    app = build(bench_settings(url, str(folder), secret), with_scheduler=False)
    try:
        with app.engine.begin() as conn:
            conn.execute(text(table_ddl(f"customers_{number}", "sqlite")))
        spec = integration_spec(sandbox_url, None)
        spec.update(name=f"bench-customers-{number}", target={"table": f"customers_{number}"})
        return int(app.integrations.create(spec).id)
    finally:
        app.close()


def first_loads(rows: int, processes: int, workdir: Path, secret: str, *,
                shared: bool) -> tuple[float, list[float]]:
    """`processes` first loads of `rows` rows at once, each into its own SQLite file or (`shared`) into one;
    returns the wall time until the last ended and each one's."""
    with ExitStack() as stack:
        jobs = []
        first = Path(tempfile.mkdtemp(prefix="load0-", dir=workdir))
        for number in range(processes):
            folder = first if number == 0 else Path(tempfile.mkdtemp(prefix=f"load{number}-", dir=workdir))
            sandbox = SandboxProcess(rows, folder / "sandbox.log")
            stack.callback(sandbox.stop)
            url = f"sqlite:///{(first if shared else folder) / 'target.sqlite3'}"
            if shared and number > 0:
                integration_id = add_integration(url, first, secret, sandbox.url, number)
            else:
                integration_id = prepare_database(url, folder, secret, sandbox.url, None)
            jobs.append({"url": url, "instance_dir": str(folder), "secret": secret,
                         "integration_id": integration_id, "profile": None})
        start_at = time.time() + SETUP_SECONDS
        for job in jobs:
            job["start_at"] = start_at
        with ThreadPoolExecutor(processes) as pool:
            outcomes = list(pool.map(run_child, jobs))
    for outcome in outcomes:
        if outcome["status"] != "succeeded" or outcome["stats"]["inserted"] != rows:
            raise SystemExit(f"a first load ended {outcome['status']}: {outcome['error']} {outcome['stats']}")
    walls = [outcome["wall"] for outcome in outcomes]
    return max(walls), walls


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="customers per first load")
    parser.add_argument("--processes", type=int, default=2, help="first loads started at the same moment")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the medians are printed")
    args = parser.parse_args(argv)
    secret = Fernet.generate_key().decode()
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-split-") as folder:
        workdir = Path(folder)
        for number in range(1, args.repeat + 1):
            reference = run_reference(args.rows, workdir).load_rate
            alone, _ = first_loads(args.rows, 1, workdir, secret, shared=False)
            apart, walls = first_loads(args.rows, args.processes, workdir, secret, shared=False)
            shared, shared_walls = first_loads(args.rows, args.processes, workdir, secret, shared=True)
            total = args.rows * args.processes
            rounds.append({"reference": reference, "alone": args.rows / alone, "apart": total / apart,
                           "shared": total / shared})
            print(f"  round {number}: reference {reference:,.0f} rows/s; one first load {args.rows / alone:,.0f} "
                  f"rows/s ({args.rows / alone / reference:.0%}); {args.processes} at once, own files "
                  f"{total / apart:,.0f} rows/s combined ({total / apart / reference:.0%}, walls "
                  f"{', '.join(f'{w:.2f}' for w in walls)} s), one file {total / shared:,.0f} rows/s combined "
                  f"({total / shared / reference:.0%}, walls {', '.join(f'{w:.2f}' for w in shared_walls)} s)",
                  flush=True)
    reference = statistics.median(r["reference"] for r in rounds)
    print(f"\nmedians of {len(rounds)} rounds, {args.rows:,} rows a first load, SQLite: reference {reference:,.0f} "
          "rows/s")
    labels = (("one first load alone", "alone"),
              (f"{args.processes} at once, each its own file", "apart"),
              (f"{args.processes} at once, one SQLite file", "shared"))
    for label, key in labels:
        ratios = [r[key] / r["reference"] for r in rounds]
        print(f"  {label:<36} {statistics.median(r[key] for r in rounds):>9,.0f} rows/s  "
              f"{statistics.median(ratios):.0%} of the reference (spread {min(ratios):.0%}-{max(ratios):.0%})")


if __name__ == "__main__":
    main()
