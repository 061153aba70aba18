"""Throughput of a sync run's per-row path: map -> binding lookup -> target upsert + bindings, page by page.

Synthetic 15-column SoftOne-style customer rows (positional strings, Greek and Latin text) go through
`BoundMapping.map_rows`, `bindings.hashes_for`, `Upserter.upsert` and `bindings.upsert` in pages of `--page-size`
rows, one transaction per page as a run does: a first load into empty tables, then a re-sync where nothing changed,
every row mapped (the runner skips mapping rows whose source hash is unchanged; bench_sync.py measures that path).
In the same process a plain `sqlite3` executemany of `INSERT ... ON CONFLICT DO UPDATE` (one transaction, WAL,
synchronous=NORMAL, hash-guarded) of the same rows, already converted, is timed as the reference; every figure is
printed as rows/s and as a ratio to it. Noise between runs is large on small machines, so the measurements are
interleaved and repeated and the best of each counts; compare ratios of one run, not absolute figures across runs.

    .venv/bin/python benchmarks/bench_upsert.py [--rows 100000] [--page-size 1000] [--repeat 3]
                                                [--postgres | --postgres-url URL]
"""

from __future__ import annotations

import argparse
import gc
import random
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from erp_sync.db import bindings
from erp_sync.db.engine import make_engine
from erp_sync.db.models import Base, Integration
from erp_sync.db.target import TargetTable, Upserter
from erp_sync.domain.mapping import FieldMapping, MappingPlan

FIELDS = ("CUSTOMER.CODE", "CUSTOMER.NAME", "CUSTOMER.AFM", "CUSTOMER.ADDRESS", "CUSTOMER.CITY", "CUSTOMER.ZIP",
          "CUSTOMER.PHONE01", "CUSTOMER.EMAIL", "CUSTOMER.REMARKS", "CUSTOMER.ISACTIVE", "CUSTOMER.TRDR",
          "CUSTOMER.BALANCE", "CUSTOMER.CREDITLIMIT", "CUSTOMER.INSDATE", "CUSTOMER.UPDDATE")
TYPES = ("string",) * 9 + ("boolean", "integer", "decimal", "decimal", "datetime", "datetime")
MAPPINGS = [FieldMapping(f, f.split(".")[1].lower(), t) for f, t in zip(FIELDS, TYPES, strict=True)]
NAMES = ["Παπαδόπουλος", "Γεωργίου", "Οικονόμου", "Müller", "Smith", "Καραγιάννης", "Dupont", "Αλεξίου"]
CITIES = ["Αθήνα", "Θεσσαλονίκη", "Πάτρα", "Ηράκλειο", "Berlin", "Λάρισα"]
ZONE = "Europe/Athens"


def synthetic_rows(count: int) -> tuple[list[list[str]], list[str]]:
    rnd = random.Random(7)
    rows, ids = [], []
    for i in range(count):
        stamp = f"2024-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d} {rnd.randint(0, 23):02d}:" \
                f"{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}"
        rows.append([f"C{i:07d}", f"{rnd.choice(NAMES)} {rnd.choice(NAMES)} Α.Ε.", f"{rnd.randint(0, 999999999):09d}",
                     f"Οδός Ερμού {rnd.randint(1, 200)}", rnd.choice(CITIES), f"{rnd.randint(10000, 99999)}",
                     f"210{rnd.randint(0, 9999999):07d}", f"user{i}@example.gr", "" if i % 3 else "VIP πελάτης",
                     "1" if i % 7 else "0", str(100000 + i), f"{rnd.randint(-99999, 999999) / 100:.2f}",
                     f"{rnd.randint(0, 50) * 1000}.00", "2019-01-01 00:00:00" if i % 5 else "1899-12-30 00:00:00",
                     stamp])
        ids.append(str(100000 + i))
    return rows, ids


def pages(rows: list, size: int) -> list[slice]:
    return [slice(start, start + size) for start in range(0, len(rows), size)]


def mapping_cost(plan: MappingPlan, rows: list[list[str]], ids: list[str], size: int) -> float:
    """Best of three passes of map_rows over all pages, in µs per row."""
    bound = plan.bind(FIELDS)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for part in pages(rows, size):
            bound.map_rows(rows[part], ids[part])
        best = min(best, time.perf_counter() - started)
    return best / len(rows) * 1e6


def reference(plan: MappingPlan, rows: list[list[str]], ids: list[str], folder: Path) -> tuple[float, float]:
    """Plain sqlite3, one transaction, WAL, synchronous=NORMAL, hash-guarded: (first load, re-sync) seconds."""
    mapped = plan.bind(FIELDS).map_rows(rows, ids)

    def db_value(v: object) -> object:
        if isinstance(v, datetime):
            return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return float(v) if isinstance(v, Decimal) else v

    params = [(*[db_value(v) for v in values], h) for values, h in zip(mapped.values, mapped.hashes, strict=True)]
    path = folder / "reference.sqlite3"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    columns = [m.target for m in MAPPINGS]
    db.execute(f"CREATE TABLE ref ({', '.join(columns)}, row_hash TEXT, UNIQUE (code))")
    sets = ", ".join(f"{c} = excluded.{c}" for c in [*columns[1:], "row_hash"])
    sql = (f"INSERT INTO ref ({', '.join(columns)}, row_hash) VALUES ({', '.join('?' * (len(columns) + 1))}) "
           f"ON CONFLICT (code) DO UPDATE SET {sets} WHERE excluded.row_hash IS NOT ref.row_hash")
    seconds = []
    for _ in range(2):
        started = time.perf_counter()
        db.execute("BEGIN")
        db.executemany(sql, params)
        db.execute("COMMIT")
        seconds.append(time.perf_counter() - started)
    db.close()
    return seconds[0], seconds[1]


def prepare(url: str, plan: MappingPlan) -> tuple[sa.Engine, Upserter]:
    """Fresh erp-sync tables, one integration and the target table in the database at `url`."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS customers"))
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.insert(Integration.__table__).values(
            id=1, name="bench", connector="softone", connection={}, source={}, target_table="customers",
            mappings=[], keys=["code"], cron_expression="*/5 * * * *", timezone=ZONE, created_at=now, updated_at=now))
    target = TargetTable.create(engine, "customers", None, plan.typed_columns, ["code"])
    return engine, Upserter(target, plan.typed_columns, ["code"])


def sync_pass(engine: sa.Engine, plan: MappingPlan, upserter: Upserter, rows: list[list[str]], ids: list[str],
              size: int) -> dict[str, float]:
    """One run over all pages, as the page loader does it; seconds in total and per step, and rows written."""
    bound = plan.bind(FIELDS)
    spent = {"total": 0.0, "map": 0.0, "lookup": 0.0, "target": 0.0, "bindings": 0.0, "written": 0}
    clock = time.perf_counter
    started = clock()
    for part in pages(rows, size):
        t0 = clock()
        mapped = bound.map_rows(rows[part], ids[part])
        now = datetime.now(UTC)
        with engine.begin() as conn:
            t1 = clock()
            known = bindings.hashes_for(conn, 1, mapped.erp_keys)
            changed = [i for i, (erp_key, row_hash) in enumerate(zip(mapped.erp_keys, mapped.hashes, strict=True))
                       if known.get(erp_key, (None, None))[0] != row_hash]
            t2 = clock()
            upserter.upsert(conn, [mapped.values[i] for i in changed])
            t3 = clock()
            bindings.upsert(conn, 1, [(mapped.erp_keys[i], mapped.key_texts[i], mapped.hashes[i], None)
                                      for i in changed], now)
        t4 = clock()
        spent["map"] += t1 - t0
        spent["lookup"] += t2 - t1
        spent["target"] += t3 - t2
        spent["bindings"] += t4 - t3  # the page's commit is counted here
        spent["written"] += len(changed)
    spent["total"] = clock() - started
    return spent


def best(results: list[dict[str, float]]) -> dict[str, float]:
    return min(results, key=lambda spent: spent["total"])


def report(label: str, spent: dict[str, float], rows: int, ref_seconds: float) -> None:
    rate, ref_rate = rows / spent["total"], rows / ref_seconds
    steps = ", ".join(f"{k} {spent[k] / rows * 1e6:.1f}" for k in ("map", "lookup", "target", "bindings"))
    print(f"  {label:<36} {rate:>9,.0f} rows/s  {rate / ref_rate:5.0%} of reference  (µs/row: {steps}; "
          f"{int(spent['written'])} written)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; the best one counts")
    parser.add_argument("--postgres", action="store_true", help="also start a throw-away PostgreSQL and run on it")
    parser.add_argument("--postgres-url", help="also run on this PostgreSQL database (its erp-sync tables and "
                                               "'customers' are dropped and created again)")
    args = parser.parse_args()

    rows, ids = synthetic_rows(args.rows)
    # A run holds one page at a time; the 100k synthetic input held here would otherwise be rescanned by every
    # full garbage collection and cost the mapped path about 10%.
    gc.freeze()
    plan = MappingPlan.compile(MAPPINGS, ["code"], ZONE)
    print(f"{args.rows:,} rows x {len(FIELDS)} columns, pages of {args.page_size}, best of {args.repeat}")
    print(f"  mapping: map_rows incl. key and hash    {mapping_cost(plan, rows, ids, args.page_size):.2f} µs/row")
    cluster = None
    url = args.postgres_url
    if args.postgres and not url:
        from postgres_cluster import PostgresCluster, find_bin_dir

        bin_dir = find_bin_dir()
        if bin_dir is None:
            sys.exit("PostgreSQL is not installed here")
        cluster = PostgresCluster(bin_dir).start()
        url = cluster.create_database("bench")
    targets = {"sqlite": None, **({"postgresql": url} if url else {})}
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    refs: list[tuple[float, float]] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for _ in range(args.repeat):  # interleaved, so that a slow moment of the machine hits every figure
                refs.append(reference(plan, rows, ids, Path(folder)))
                for name, target_url in targets.items():
                    engine, upserter = prepare(target_url or f"sqlite:///{folder}/erp_sync.sqlite3", plan)
                    for phase in ("first load", "re-sync"):
                        spent = sync_pass(engine, plan, upserter, rows, ids, args.page_size)
                        results.setdefault((name, phase), []).append(spent)
                    engine.dispose()
    finally:
        if cluster:
            cluster.stop()
    ref = (min(r[0] for r in refs), min(r[1] for r in refs))
    print(f"  reference sqlite3 first load            {args.rows / ref[0]:>9,.0f} rows/s")
    print(f"  reference sqlite3 re-sync (unchanged)   {args.rows / ref[1]:>9,.0f} rows/s")
    for (name, phase), runs in results.items():
        report(f"{name} {phase}", best(runs), args.rows, ref[0] if phase == "first load" else ref[1])


if __name__ == "__main__":
    main()
