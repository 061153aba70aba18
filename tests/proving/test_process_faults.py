"""Process faults, each cell on SQLite and PostgreSQL unless its nature ties it to one, each followed by a
converging run and the invariant of tests/proving/fault_invariant.py: the target holds exactly the ERP's rows, none
lost or doubled, one live binding per row (and a tombstone per record the ERP deleted), no lease held, every run
in a final state.

The cells:
- SIGKILL mid-delete-scan: an `erp-sync run --full` child process of a hard_delete integration, killed while its
  complete scan pages (slowed by the sandbox), deletes nothing; the next run deletes exactly what the ERP deleted.
- SIGKILL mid-push: a two-way child killed while the ERP (a slowed setData) is answering its first push. The ERP
  applies that push anyway; the next run pushes the other local change once and creates no second ERP record.
- PostgreSQL restarted mid-run (PostgreSQL only): a dedicated throw-away cluster, down for a second while a slowed
  run pages; the run ends failed with DATABASE_ERROR (or completes), recorded once the server is back, its lease
  free.
- Disk full mid-run: SQLite under `PRAGMA max_page_count`, PostgreSQL on a dedicated cluster under RLIMIT_FSIZE (its
  target table pre-filled to just below the limit); the run fails with DATABASE_ERROR; the limit is lifted.
- The injected clock jumping forward past the lease TTL mid-run while another trigger comes (it takes the run over;
  the first run's next page is fenced off) and back by hours mid-run (the run completes; the watermark never moves
  back; the clock says the run finished before it started, and its finished_at is recorded as its started_at
  instead, so durationMs is 0, never negative).
SIGKILL mid-page and SIGTERM are in tests/e2e/test_run_processes.py; the ERP faults in test_fault_matrix.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import build_app, customer_integration, make_settings, two_way_customer_integration
from e2e.processes import process_env, start, wait_for
from fault_invariant import invariant_breaches
from postgres_cluster import PostgresCluster, find_bin_dir
from sqlalchemy import event, text
from tests_support import erp_rows

from erp_sync.bootstrap import ErpSync, build
from erp_sync.clock import FrozenClock
from erp_sync.db.migrate import upgrade
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.services.sync import RunOutcome

ROWS = 120
TTL_MS = "1500"
SLOW_SOURCE = {"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 20, "requestsAhead": 1}
WANTED = [name.strip() for name in os.environ.get("ERP_SYNC_TEST_DATABASES", "sqlite,postgresql").split(",")]
CLOCK = FrozenClock(datetime.now(UTC))  # the clock of the module's sandbox, and of the clock cells' erp-sync


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=ROWS, items=5, seed=11, now=CLOCK.now))
    yield running
    running.stop()


@pytest.fixture
def sandbox(shared_sandbox: RunningSandbox) -> RunningSandbox:
    CLOCK.set(datetime.now(UTC))
    shared_sandbox.app.state.reset(sessions=True)
    return shared_sandbox


@pytest.fixture
def erp(database_url: str, tmp_path: Path) -> Iterator[ErpSync]:
    app = build_app(database_url, tmp_path / "instance", SYNC_TIMEOUT_MS=TTL_MS)
    yield app
    app.close()


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this module's own, to restart and to starve of disk without touching the session's."""
    bin_dir = find_bin_dir()
    if bin_dir is None or "postgresql" not in WANTED:
        pytest.skip("PostgreSQL is not installed here, or not among ERP_SYNC_TEST_DATABASES")
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


def slow_pages(sandbox: RunningSandbox, seconds: float, service: str = "getBrowserData") -> None:
    sandbox.app.state.set_faults({"clear": True, "slow_page_seconds": {"seconds": seconds, "service": service,
                                                                       "times": 0}})


def run_pages(erp: ErpSync, status: str = "running") -> int:
    with erp.engine.connect() as conn:
        return int(conn.execute(text("SELECT coalesce(max(pages), 0) FROM erp_sync_runs WHERE status = :s"),
                                {"s": status}).scalar_one())


def statuses(erp: ErpSync) -> list[tuple[str, str | None]]:
    with erp.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT status, error_code FROM erp_sync_runs ORDER BY id"))]


def kill_child_run(erp: ErpSync, database_url: str, tmp_path: Path, integration: int, when: Callable[[], Any],
                   *args: str) -> None:
    """Start `erp-sync run <integration> *args` as a child process, SIGKILL it once `when()` holds, and wait out
    the dead run's lease."""
    env = process_env(database_url, tmp_path / "instance", SYNC_TIMEOUT_MS=TTL_MS)
    victim = start(["run", str(integration), *args], env, tmp_path / "victim.log")
    try:
        wait_for(when, timeout=60)
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
    time.sleep(int(TTL_MS) / 1000 + 0.1)


def in_background(erp: ErpSync, integration: int, **flags: bool) -> tuple[threading.Thread, dict[str, Any]]:
    """A run of `integration` in a thread of this process; the dict gets its outcome or its exception."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["outcome"] = erp.runner.run(integration, "api", **flags)
        except Exception as exc:
            result["error"] = exc

    thread = threading.Thread(target=target, name="faulted-run")
    thread.start()
    return thread, result


def converge(erp: ErpSync, integration: int, **flags: bool) -> RunOutcome:
    outcome = erp.runner.run(integration, "api", **flags)
    assert outcome.status == "succeeded", (outcome.error_code, outcome.error_message)
    return outcome


# -- SIGKILL mid-delete-scan ----------------------------------------------------------------------------------------
def test_a_run_killed_mid_delete_scan_deletes_nothing_and_the_next_run_deletes_exactly_what_the_erp_deleted(
        erp: ErpSync, sandbox: RunningSandbox, database_url: str, tmp_path: Path) -> None:
    integration = erp.integrations.create(customer_integration(
        sandbox.url, source=SLOW_SOURCE, deletePolicy="hard_delete")).id
    converge(erp, integration)
    gone = sorted(erp_rows(sandbox))[10:13]
    for key in gone:
        sandbox.app.state.delete_row("CUSTOMER", key)
    slow_pages(sandbox, 0.4)  # six pages: the kill comes well before the scan's end, whatever the machine's load
    kill_child_run(erp, database_url, tmp_path, integration, lambda: run_pages(erp) >= 1, "--full")
    with erp.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == ROWS, "the killed scan deleted"
    sandbox.app.state.set_faults({"clear": True})
    assert converge(erp, integration, full=True).stats.deleted == len(gone)
    assert statuses(erp) == [("succeeded", None), ("abandoned", "RUN_ABANDONED"), ("succeeded", None)]
    assert invariant_breaches(erp, sandbox, integration, tombstones=len(gone)) == []
    assert converge(erp, integration).stats.deleted == 0


# -- SIGKILL mid-push -----------------------------------------------------------------------------------------------
def two_way_integration(sandbox: RunningSandbox) -> dict[str, Any]:
    return two_way_customer_integration(sandbox.url, source=SLOW_SOURCE, options={"referenceField": "CUSTOMER.CODE1"})


def test_a_run_killed_mid_push_loses_no_local_change_and_the_next_run_pushes_the_rest_once(
        erp: ErpSync, sandbox: RunningSandbox, database_url: str, tmp_path: Path) -> None:
    integration = erp.integrations.create(two_way_integration(sandbox)).id
    converge(erp, integration)
    edited = erp_rows(sandbox)[sorted(erp_rows(sandbox))[5]]
    with erp.engine.begin() as conn:
        conn.execute(text("UPDATE customers_2w SET name = 'Edited locally' WHERE code = :c"), {"c": edited["CODE"]})
        conn.execute(text("INSERT INTO customers_2w (code, name) VALUES ('LOCAL-1', 'Created locally')"))
    slow_pages(sandbox, 1.0, "setData")

    def first_push_sent() -> bool:
        return sandbox.app.state.stats_view()["calls"].get("setData", 0) >= 1

    kill_child_run(erp, database_url, tmp_path, integration, first_push_sent)
    wait_for(lambda: len(sandbox.app.state.setdata_requests()) == 1, timeout=10)  # the ERP saved it regardless
    sandbox.app.state.set_faults({"clear": True})
    after = converge(erp, integration)
    assert (after.stats.pushed, len(sandbox.app.state.setdata_requests())) == (1, 2), after.details
    remote = erp_rows(sandbox)
    assert [row["NAME"] for row in remote.values() if row["CODE"] == "LOCAL-1"] == ["Created locally"]
    assert remote[int(edited["TRDR"])]["NAME"] == "Edited locally"
    assert [status for status, _ in statuses(erp)] == ["succeeded", "abandoned", "succeeded"]
    # The created record's erp_id (read-only) comes with the next read; nothing is pushed again.
    assert converge(erp, integration).stats.pushed == 0, "a pushed change came back as a local one"
    assert invariant_breaches(erp, sandbox, integration, "customers_2w") == []


# -- PostgreSQL restarted mid-run -----------------------------------------------------------------------------------
def test_postgresql_restarted_mid_run_fails_the_run_which_records_its_end_once_the_server_is_back(
        own_cluster: PostgresCluster, sandbox: RunningSandbox, tmp_path: Path) -> None:
    """PostgreSQL only, by nature: SQLite has no server to restart. The server stays down a second, long enough
    for the run's next page to fail (DATABASE_ERROR) while there is no database to record the failure in: the run
    waits for the server to record its end, rather than leaving its run `running` and its lease held until the
    lease expires."""
    erp = build_app(own_cluster.create_database(), tmp_path / "instance", SYNC_TIMEOUT_MS=TTL_MS)
    try:
        integration = erp.integrations.create(customer_integration(sandbox.url, source=SLOW_SOURCE)).id
        slow_pages(sandbox, 0.3)
        thread, result = in_background(erp, integration)
        wait_for(lambda: run_pages(erp) >= 2, timeout=60)
        own_cluster.restart(down_seconds=1.0)
        thread.join(timeout=60)
        assert "error" not in result, f"the run raised instead of ending: {result.get('error')!r}"
        ended: RunOutcome = result["outcome"]
        assert (ended.status, ended.error_code) in {("failed", "DATABASE_ERROR"), ("succeeded", None)}, ended
        assert statuses(erp) == [(ended.status, ended.error_code)]
        assert not [b for b in invariant_breaches(erp, sandbox, integration) if "lease" in b or "left" in b]
        sandbox.app.state.set_faults({"clear": True})
        converge(erp, integration)
        assert invariant_breaches(erp, sandbox, integration) == []
    finally:
        erp.close()


# -- disk full ------------------------------------------------------------------------------------------------------
def fill_sqlite(erp: ErpSync, spare_pages: int) -> Callable[[], None]:
    """Cap the SQLite file at its size now plus `spare_pages` (PRAGMA max_page_count on every new connection);
    returns what lifts the cap."""
    with erp.engine.connect() as conn:
        pages = int(conn.execute(text("PRAGMA page_count")).scalar_one())

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + spare_pages}")

    event.listen(erp.engine, "connect", cap)
    erp.engine.dispose()

    def lift() -> None:
        event.remove(erp.engine, "connect", cap)
        erp.engine.dispose()

    return lift


FILLER_ROWS = 70_000  # about 18 MB of target table: past PostgreSQL's 16 MB WAL segments, which must still fit


def fill_postgresql(erp: ErpSync, cluster: PostgresCluster) -> Callable[[], None]:
    """Pre-fill the target table with filler rows and restart the server with its file size capped at
    the table's file (RLIMIT_FSIZE); returns what lifts the cap (another restart)."""
    with erp.engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (erp_id, code, name) SELECT -g, 'FILL' || g, repeat('x', 200) "
                          "FROM generate_series(1, :n) AS g"), {"n": FILLER_ROWS})
        size = int(conn.execute(text("SELECT pg_relation_size('customers')")).scalar_one())
    assert size > 17 * 2**20, "the filler no longer outgrows a WAL segment"
    erp.engine.dispose()
    cluster.restart(file_size_limit=size)  # the next page the table needs is one too many

    def lift() -> None:
        erp.engine.dispose()
        cluster.restart()

    return lift


@pytest.mark.parametrize("dialect", [name for name in ("sqlite", "postgresql") if name in WANTED])
def test_a_disk_full_mid_run_fails_the_run_and_once_there_is_room_the_next_run_converges(
        dialect: str, sandbox: RunningSandbox, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    cluster: PostgresCluster | None = request.getfixturevalue("own_cluster") if dialect == "postgresql" else None
    url = cluster.create_database() if cluster else f"sqlite:///{tmp_path / 'full.sqlite3'}"
    erp = build_app(url, tmp_path / "instance", SYNC_TIMEOUT_MS=TTL_MS)
    try:
        integration = erp.integrations.create(customer_integration(
            sandbox.url, source={**SLOW_SOURCE, "pageSize": 50, "requestsAhead": 4})).id
        lift = fill_postgresql(erp, cluster) if cluster else fill_sqlite(erp, spare_pages=6)
        try:
            full = erp.runner.run(integration, "api")
        finally:
            lift()
        assert (full.status, full.error_code) == ("failed", "DATABASE_ERROR"), full
        assert "full" in (full.error_message or "") or "too large" in (full.error_message or "")
        sandbox.app.state.patch_row("CUSTOMER", sorted(erp_rows(sandbox))[3], {"NAME": "Changed while full"})
        converge(erp, integration)
        with erp.engine.begin() as conn:
            conn.execute(text("DELETE FROM customers WHERE erp_id < 0"))  # the filler
        assert invariant_breaches(erp, sandbox, integration) == []
    finally:
        erp.close()


# -- the clock jumping ----------------------------------------------------------------------------------------------
@pytest.fixture
def clocked(database_url: str, tmp_path: Path, sandbox: RunningSandbox) -> Iterator[ErpSync]:
    """erp-sync on the module's FrozenClock, which the sandbox reads too (its UPDDATE stamps and sessions)."""
    upgrade(database_url)
    app = build(make_settings(database_url, tmp_path / "instance", SYNC_TIMEOUT_MS=TTL_MS), clock=CLOCK)
    yield app
    app.close()


def clock_integration(sandbox: RunningSandbox) -> dict[str, Any]:
    return customer_integration(sandbox.url, source=SLOW_SOURCE,
                                target={"table": "clock_customers", "createIfMissing": True})


def watermark(erp: ErpSync, integration: int) -> str | None:
    with erp.engine.connect() as conn:
        return conn.execute(text("SELECT watermark FROM erp_sync_integrations WHERE id = :i"),
                            {"i": integration}).scalar_one()


def test_the_clock_jumping_past_the_lease_ttl_mid_run_lets_another_trigger_take_over_without_doubling_a_row(
        clocked: ErpSync, sandbox: RunningSandbox) -> None:
    integration = clocked.integrations.create(clock_integration(sandbox)).id
    slow_pages(sandbox, 0.3)
    thread, result = in_background(clocked, integration)
    wait_for(lambda: run_pages(clocked) >= 1, timeout=60)
    CLOCK.advance(timedelta(milliseconds=int(TTL_MS)) + timedelta(seconds=1))
    taker = converge(clocked, integration)  # sweeps the first run as abandoned and takes the lease over
    thread.join(timeout=60)
    first: RunOutcome = result["outcome"]
    assert (first.status, first.error_code) == ("failed", "LEASE_LOST"), first
    assert taker.stats.fetched == ROWS
    sandbox.app.state.set_faults({"clear": True})
    sandbox.app.state.patch_row("CUSTOMER", sorted(erp_rows(sandbox))[9], {"NAME": "Changed after the jump"})
    converge(clocked, integration)
    assert invariant_breaches(clocked, sandbox, integration, "clock_customers") == []


def test_the_clock_jumping_back_hours_mid_run_never_moves_the_watermark_back_and_the_runs_converge(
        clocked: ErpSync, sandbox: RunningSandbox) -> None:
    integration = clocked.integrations.create(clock_integration(sandbox)).id
    converge(clocked, integration)
    before = watermark(clocked, integration)
    sandbox.app.state.patch_row("CUSTOMER", sorted(erp_rows(sandbox))[2], {"NAME": "Changed before the jump"})
    slow_pages(sandbox, 0.3)
    thread, result = in_background(clocked, integration, full=True)  # six slowed pages
    wait_for(lambda: run_pages(clocked) >= 1, timeout=60)
    CLOCK.advance(-timedelta(hours=3))
    thread.join(timeout=60)
    assert result["outcome"].status == "succeeded", result["outcome"]
    after_jump = watermark(clocked, integration)
    assert before is not None and after_jump is not None and after_jump >= before
    sandbox.app.state.set_faults({"clear": True})
    sandbox.app.state.patch_row("CUSTOMER", sorted(erp_rows(sandbox))[4], {"NAME": "Changed after the jump"})
    converge(clocked, integration)
    assert (watermark(clocked, integration) or "") >= after_jump, "the watermark moved back"
    with clocked.engine.connect() as conn:
        jumped = conn.execute(text("SELECT started_at, finished_at, duration_ms FROM erp_sync_runs WHERE id = :r"),
                              {"r": result["outcome"].run_id}).one()
    assert jumped.finished_at >= jumped.started_at and jumped.duration_ms >= 0  # a run never ends before it starts
    assert invariant_breaches(clocked, sandbox, integration, "clock_customers") == []
