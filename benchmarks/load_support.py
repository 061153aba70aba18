"""What the load benchmarks (bench_schedulers.py, bench_read_latency.py, bench_concurrent_runs.py) share: a
throw-away PostgreSQL cluster, percentiles, and the machine's load while they run."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "tests"))  # postgres_cluster

from postgres_cluster import PostgresCluster, find_bin_dir  # noqa: E402


def start_postgres() -> PostgresCluster:
    """A running throw-away PostgreSQL cluster (tests/postgres_cluster.py); stop() it when done."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL is not installed here")
    return PostgresCluster(bin_dir).start()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (`share` 0.5 for the median), NaN for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")


class LoadSampler:
    """The 1-minute load average every `every` seconds, in a background thread, while in its `with` block."""

    def __init__(self, every: float = 5.0) -> None:
        self.every = every
        self.loads: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.loads.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.loads.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.loads)
        return {"min": round(ordered[0], 2), "median": round(percentile(ordered, 0.5), 2),
                "max": round(ordered[-1], 2)}
