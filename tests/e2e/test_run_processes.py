"""Real processes: a run killed with SIGKILL, runners racing, runs of two integrations at once, SIGTERM, schedulers
sharing one database."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from app_fixtures import build_app, customer_integration
from processes import process_env, start, wait_for
from sqlalchemy import text, update
from tests_support import erp_rows, run_row, table_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.db.models import INTEGRATIONS
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread

pytestmark = pytest.mark.e2e
ROWS = 300


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=ROWS, seed=11))
    yield running
    running.stop()


@pytest.fixture
def erp(database_url: str, tmp_path: Path) -> Iterator[ErpSync]:
    app = build_app(database_url, tmp_path / "instance", SYNC_TIMEOUT_MS="1500")
    yield app
    app.close()


@pytest.fixture
def integration_id(erp: ErpSync, sandbox: RunningSandbox) -> int:
    # One page request at a time, so a run lasts (pages x the sandbox's delay) whatever the machine's load.
    spec = customer_integration(sandbox.url, source={"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE",
                                                     "pageSize": 50, "requestsAhead": 1})
    return erp.integrations.create(spec).id


def pages_of(erp: ErpSync, run_status: str = "running") -> int:
    with erp.engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(pages), 0) FROM erp_sync_runs WHERE status = :s"),
                                {"s": run_status}).scalar_one())


def slow_pages(sandbox: RunningSandbox, seconds: float = 0.4) -> None:
    sandbox.app.state.set_faults({"slow_page_seconds": {"seconds": seconds, "times": 0}})


def test_a_run_killed_with_sigkill_is_abandoned_and_the_next_run_completes_without_duplicates(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int, database_url: str, tmp_path: Path) -> None:
    slow_pages(sandbox)
    env = process_env(database_url, tmp_path / "instance", SYNC_TIMEOUT_MS="1500")
    victim = start(["run", str(integration_id)], env, tmp_path / "victim.log")
    wait_for(lambda: pages_of(erp) >= 2, timeout=30)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    partial = len(table_rows(erp))
    assert 0 < partial < ROWS
    sandbox.app.state.set_faults({"clear": True})
    time.sleep(1.6)  # past SYNC_TIMEOUT_MS: the dead run's lease expires
    again = subprocess.run([*start_args(integration_id)], env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    local, remote = table_rows(erp), erp_rows(sandbox)
    assert set(local) == set(remote)
    with erp.engine.connect() as conn:
        statuses = [r[0] for r in conn.execute(text("SELECT status FROM erp_sync_runs ORDER BY id"))]
        bindings = conn.execute(text("SELECT count(*) FROM erp_sync_bindings")).scalar_one()
    assert statuses == ["abandoned", "succeeded"]
    assert bindings == ROWS


def start_args(integration_id: int) -> list[str]:
    from processes import ERP_SYNC

    return [ERP_SYNC, "run", str(integration_id)]


def test_two_runners_racing_for_one_integration_run_exactly_once(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int, database_url: str, tmp_path: Path) -> None:
    slow_pages(sandbox, 0.3)
    env = process_env(database_url, tmp_path / "instance")
    racers = [start(["run", str(integration_id)], env, tmp_path / f"racer{i}.log") for i in range(2)]
    codes = sorted(p.wait(timeout=120) for p in racers)
    logs = "".join((tmp_path / f"racer{i}.log").read_text() for i in range(2))
    assert codes == [0, 3], logs
    assert "SYNC_IN_PROGRESS" in logs
    with erp.engine.connect() as conn:
        statuses = sorted(r[0] for r in conn.execute(text("SELECT status FROM erp_sync_runs")))
    # The loser either saw the live lease before opening a run, or lost the lease race and recorded a skip.
    assert statuses in (["succeeded"], ["skipped", "succeeded"])
    assert len(table_rows(erp)) == ROWS


def test_runs_of_two_integrations_at_once_share_the_database_and_both_complete(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int, database_url: str, tmp_path: Path) -> None:
    """Each integration has its own lease, so the runs go side by side; on SQLite their page transactions queue for
    the one writer (BEGIN IMMEDIATE and the busy timeout) instead of failing as locked."""
    slow_pages(sandbox, 0.15)
    erp.integrations.update(integration_id, {"source": {"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE",
                                                        "pageSize": 25, "requestsAhead": 1}})
    other = erp.integrations.create(customer_integration(
        sandbox.url, name="customers-copy", target={"table": "customers_copy", "createIfMissing": True},
        source={"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 25, "requestsAhead": 1})).id
    env = process_env(database_url, tmp_path / "instance")
    runners = [start(["run", str(i)], env, tmp_path / f"run{i}.log") for i in (integration_id, other)]
    codes = [p.wait(timeout=120) for p in runners]
    assert codes == [0, 0], "".join((tmp_path / f"run{i}.log").read_text() for i in (integration_id, other))
    with erp.engine.connect() as conn:
        runs = conn.execute(text("SELECT integration_id, status, inserted, errors, started_at, finished_at "
                                 "FROM erp_sync_runs ORDER BY integration_id")).all()
        bindings = dict(conn.execute(text(
            "SELECT integration_id, count(*) FROM erp_sync_bindings GROUP BY integration_id")).all())
    assert [(r.integration_id, r.status, r.inserted, r.errors) for r in runs] == [
        (integration_id, "succeeded", ROWS, 0), (other, "succeeded", ROWS, 0)]
    assert max(r.started_at for r in runs) < min(r.finished_at for r in runs), "the runs did not overlap"
    remote = set(erp_rows(sandbox))
    assert set(table_rows(erp)) == set(table_rows(erp, "customers_copy")) == remote
    assert bindings == {integration_id: ROWS, other: ROWS}


def test_sigterm_lets_the_page_commit_releases_the_lease_and_exits(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int, database_url: str, tmp_path: Path) -> None:
    slow_pages(sandbox, 0.5)
    env = process_env(database_url, tmp_path / "instance")
    runner = start(["run", str(integration_id)], env, tmp_path / "run.log")
    wait_for(lambda: pages_of(erp) >= 1, timeout=30)
    runner.send_signal(signal.SIGTERM)
    code = runner.wait(timeout=30)
    assert code == 130, (tmp_path / "run.log").read_text()
    with erp.engine.connect() as conn:
        run = conn.execute(text("SELECT id, status, pages, inserted FROM erp_sync_runs")).one()
        lease = conn.execute(text("SELECT lease_owner FROM erp_sync_integrations")).scalar_one()
    assert run.status == "failed" and lease is None
    assert run.inserted == run.pages * 50 == len(table_rows(erp))
    assert "shutting down" in run_row(erp, run.id)["error_message"]
    sandbox.app.state.set_faults({"clear": True})
    assert erp.runner.run(integration_id, "api").status == "succeeded"


def test_three_schedulers_on_one_database_run_a_missed_slot_once(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int, database_url: str, tmp_path: Path) -> None:
    erp.integrations.update(integration_id, {"schedule": {"cronExpression": "* * * * *", "timezone": "UTC"},
                                             "options": {"catchUp": True, "catchUpGraceMinutes": 5}})
    # Active since before the last minute's slot, so that slot was missed and is caught up at once, wherever in the
    # minute the test starts (a slot from before activation is never caught up).
    with erp.engine.begin() as conn:
        conn.execute(update(INTEGRATIONS).where(INTEGRATIONS.c.id == integration_id)
                     .values(activated_at=datetime.now(UTC) - timedelta(minutes=3)))
    slow_pages(sandbox, 0.05)
    env = process_env(database_url, tmp_path / "instance", ERP_SYNC_SCHEDULER="on")
    schedulers = [start(["scheduler"], env, tmp_path / f"scheduler{i}.log") for i in range(3)]
    try:
        wait_for(lambda: pages_of(erp, "succeeded") > 0, timeout=60)
        time.sleep(1.0)
        with erp.engine.connect() as conn:
            slots = conn.execute(text(
                "SELECT scheduled_for, count(*) FROM erp_sync_runs GROUP BY scheduled_for")).all()
    finally:
        for process in schedulers:
            process.send_signal(signal.SIGTERM)
        for process in schedulers:
            process.wait(timeout=30)
    assert slots and all(count == 1 for _, count in slots), slots
    assert len(table_rows(erp)) == ROWS


def test_the_run_command_prints_progress_and_a_summary_and_exits_1_when_the_run_fails(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int, database_url: str, tmp_path: Path) -> None:
    env = process_env(database_url, tmp_path / "instance")
    ok = subprocess.run([*start_args(integration_id), "--full"], env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0
    assert "page 6: 300 rows read" in ok.stderr
    assert "run 1: succeeded" in ok.stdout and "300 inserted" in ok.stdout
    erp.integrations.update(integration_id, {"connection": {"password": "wrong"}})
    failed = subprocess.run(start_args(integration_id), env=env, capture_output=True, text=True, timeout=120)
    assert failed.returncode == 1
    assert "run 2: failed" in failed.stdout
    assert "ERP_BAD_CREDENTIALS" in failed.stderr and "wrong" not in failed.stderr + failed.stdout
    missing = subprocess.run([*start_args(999)], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and "NOT_FOUND" in missing.stderr
    helped = subprocess.run([*start_args(1)[:2], "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "--dry-run" in helped.stdout and "--full" in helped.stdout
