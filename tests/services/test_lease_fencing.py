"""A run whose lease was taken over writes nothing more: no rows, no watermark, no status, no push to the ERP.

A run (on its own thread, the real database and the real sandbox) stalls after its last page, past its lease
(a short SYNC_TIMEOUT_MS), while a second runner takes the lease over. When the stalled run wakes up, every write it
would still make is fenced by its lease token: it ends LEASE_LOST and the run that took over carries on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import build_app, customer_integration, two_way_customer_integration
from sqlalchemy import text
from tests_support import run_row

from erp_sync.bootstrap import ErpSync
from erp_sync.domain.run import RunStats
from erp_sync.sandbox import RunningSandbox
from erp_sync.services.sync import RunOutcome

TTL_MS = 1000


@pytest.fixture
def erp(database_url: str, tmp_path: Path) -> Iterator[ErpSync]:
    app = build_app(database_url, tmp_path / "instance", SYNC_TIMEOUT_MS=str(TTL_MS))
    yield app
    app.close()


def integration_row(erp: ErpSync, integration_id: int) -> dict[str, Any]:
    with erp.engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM erp_sync_integrations WHERE id = :id"),
                                 {"id": integration_id}).mappings().one())


def stalled_run_taken_over(erp: ErpSync, integration_id: int, rows: int) -> tuple[RunOutcome, int]:
    """Run on a thread that stalls after its last page until its lease expired and another runner took the lease;
    returns the stalled run's outcome and the id of the run that took over (prepared, not yet executed)."""
    stalled, resume = threading.Event(), threading.Event()
    outcome: list[RunOutcome] = []

    def stall_after_last_page(stats: RunStats) -> None:
        if stats.fetched == rows:
            stalled.set()
            resume.wait(30)

    worker = threading.Thread(target=lambda: outcome.append(
        erp.runner.run(integration_id, "api", full=True, progress=stall_after_last_page)))
    worker.start()
    assert stalled.wait(60)
    time.sleep(TTL_MS / 1000 + 0.3)  # the stalled run's lease expires
    taker = erp.runner.prepare(integration_id, "api")
    assert taker is not None
    resume.set()
    worker.join(60)
    return outcome[0], taker.run_id


def test_a_run_whose_lease_was_taken_over_after_its_last_page_moves_no_watermark_and_no_status(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(customer_integration(sandbox.url)).id
    late, taker = stalled_run_taken_over(erp, integration, 250)
    assert (late.status, late.error_code) == ("failed", "LEASE_LOST")
    row = integration_row(erp, integration)
    assert row["watermark"] is None
    assert row["last_run_id"] != late.run_id and row["last_status"] != "succeeded"
    assert row["lease_run_id"] == taker
    assert run_row(erp, late.run_id)["error_code"] == "LEASE_LOST"


def test_a_two_way_run_whose_lease_was_taken_over_pushes_nothing_to_the_erp(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way_customer_integration(sandbox.url)).id
    assert erp.runner.run(integration, "api").status == "succeeded"
    with erp.engine.begin() as conn:
        conn.execute(text("UPDATE customers_2w SET name = 'edited here' WHERE erp_id IN "
                          "(SELECT erp_id FROM customers_2w ORDER BY erp_id LIMIT 3)"))
    watermark = integration_row(erp, integration)["watermark"]
    late, taker = stalled_run_taken_over(erp, integration, 250)
    assert (late.status, late.error_code) == ("failed", "LEASE_LOST")
    assert sandbox.app.state.setdata_requests() == []
    assert integration_row(erp, integration)["watermark"] == watermark
    assert integration_row(erp, integration)["lease_run_id"] == taker
