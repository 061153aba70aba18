"""Many triggers of one integration at the same moment: runs never overlap (one at a time), the others are turned
away with SYNC_IN_PROGRESS, and no run is marked abandoned while it is alive.

benchmarks/bench_load.py does the same with 100 HTTP clients against waitress; this is its bounded form: 24 threads
released by a barrier, each sending `POST /api/integrations/{id}/sync` (the run goes on in the background).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise

import pytest
from app_fixtures import admin, customer_integration
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.web.app import create_app

TRIGGERS = 24
@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=300, seed=9))
    running.app.state.set_faults({"slow_page_seconds": {"seconds": 0.5, "times": 0}})
    yield running
    running.stop()


def wait_until_no_run_is_live(erp: ErpSync) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with erp.engine.connect() as conn:
            live = conn.execute(text("SELECT count(*) FROM erp_sync_runs WHERE status IN ('running', 'claimed')"))
            if live.scalar_one() == 0:
                return
        time.sleep(0.1)
    raise AssertionError("a run is still live after 60 s")


def test_simultaneous_triggers_start_exactly_one_run_and_abandon_none(erp: ErpSync, sandbox: RunningSandbox) -> None:
    body = customer_integration(sandbox.url)
    body["source"].update(pageSize=100, requestsAhead=1)  # three pages one after another: a run lasts 1.5 s
    integration = erp.integrations.create(body).id
    barrier, statuses, app = threading.Barrier(TRIGGERS), [], create_app(erp)

    def trigger() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.post(f"/api/integrations/{integration}/sync", headers=admin()).status_code)

    threads = [threading.Thread(target=trigger) for _ in range(TRIGGERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wait_until_no_run_is_live(erp)
    with erp.engine.connect() as conn:
        recorded = Counter(conn.execute(text("SELECT status FROM erp_sync_runs")).scalars())
        ran = conn.execute(text("SELECT started_at, finished_at FROM erp_sync_runs WHERE status = 'succeeded' "
                                "ORDER BY started_at")).all()
    answered = Counter(statuses)
    assert set(answered) == {202, 409} and answered[202] == len(ran), (answered, recorded)
    assert recorded.get("abandoned", 0) == 0, recorded
    # A run's start and end are clock readings taken before its transaction waits for the database (SQLite's one
    # writer), so under load the next run's start may read a little before the last run's end: allow that, never
    # a real overlap, which would cover most of a 1.5 s run.
    slack = timedelta(seconds=0.5)
    assert all(later.started_at >= earlier.finished_at - slack for earlier, later in pairwise(ran)), "runs overlapped"
