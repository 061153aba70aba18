"""A first load (no bindings yet) writes its pages as new without looking their keys up; the writes prove it, and a
page that meets a key after all is rolled back and redone the careful way. Real sandbox over HTTP, SQLite and
PostgreSQL; pages over 200 rows take PostgreSQL's COPY paths, smaller ones its INSERT paths."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from app_fixtures import customer_integration
from sqlalchemy import text
from tests_support import erp_rows, run_row, table_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.connectors.base import ErpConnector, Page, Query, Window
from erp_sync.domain.mapping import BoundMapping
from erp_sync.domain.run import RunStats
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.services.sync import SyncRunner


@pytest.fixture
def big_sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=500, items=5, seed=11))
    yield running
    running.stop()


class RowsShiftedConnector:
    """The real connector, except that page 2 begins with page 1's last row again: what a SoftOne browser
    returns when a row is inserted ahead of the reader between two page requests."""

    def __init__(self, inner: ErpConnector) -> None:
        self._inner = inner

    def pages(self, query: Query, window: Window | None = None) -> Iterator[Page]:
        last: Page | None = None
        for page in self._inner.pages(query, window):
            if page.number == 2 and last is not None:
                page = replace(page, rows=[last.rows[-1], *page.rows],
                               record_ids=[last.record_ids[-1], *page.record_ids])
            last = page
            yield page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _runner(erp: ErpSync, connectors: Any) -> SyncRunner:
    return SyncRunner(erp.engine, erp.repository, connectors, erp.clock, timedelta(minutes=5))


def _bindings(erp: ErpSync, integration_id: int) -> dict[str, tuple[str, str | None]]:
    with erp.engine.connect() as conn:
        rows = conn.execute(text("SELECT erp_key, row_hash, source_hash FROM erp_sync_bindings "
                                 "WHERE integration_id = :i"), {"i": integration_id}).all()
    return {erp_key: (row_hash, source_hash) for erp_key, row_hash, source_hash in rows}


def _integration(erp: ErpSync, sandbox: RunningSandbox, page_size: int) -> int:
    return erp.integrations.create(customer_integration(
        sandbox.url, source={"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": page_size})).id


@pytest.mark.parametrize("page_size", [100, 240])
def test_a_row_repeated_across_pages_of_a_first_load_sends_its_page_the_careful_way(
        erp: ErpSync, big_sandbox: RunningSandbox, page_size: int) -> None:
    integration = _integration(erp, big_sandbox, page_size)
    runner = _runner(erp, lambda spec: RowsShiftedConnector(erp.connectors(spec)))  # type: ignore[misc]
    outcome = runner.run(integration, "api")
    assert outcome.status == "succeeded", outcome.error_message
    assert (outcome.stats.fetched, outcome.stats.inserted, outcome.stats.updated, outcome.stats.unchanged) == (
        501, 500, 0, 1)
    assert table_rows(erp).keys() == erp_rows(big_sandbox).keys()
    stored = _bindings(erp, integration)
    assert len(stored) == 500 and all(len(row_hash) == 64 and source for row_hash, source in stored.values())
    run = run_row(erp, outcome.run_id)
    assert (run["inserted"], run["unchanged"], run["errors"]) == (500, 1, 0)  # the rolled-back try left no counts
    again = erp.runner.run(integration, "api", full=True)
    assert (again.stats.unchanged, again.stats.inserted, again.stats.updated) == (500, 0, 0)


@pytest.mark.parametrize("page_size", [100, 240])
def test_a_row_written_into_the_empty_target_during_a_first_load_is_overwritten_not_failed(
        erp: ErpSync, big_sandbox: RunningSandbox, page_size: int) -> None:
    integration = _integration(erp, big_sandbox, page_size)
    remote = erp_rows(big_sandbox)
    later_key = sorted(remote)[page_size + 5]  # on page 2

    def meanwhile_the_application_writes(stats: RunStats) -> None:
        if stats.pages == 1:
            with erp.engine.begin() as conn:
                conn.execute(text("INSERT INTO customers (erp_id, code, name) VALUES (:k, 'LOCAL', 'local row')"),
                             {"k": later_key})

    outcome = erp.runner.run(integration, "api", progress=meanwhile_the_application_writes)
    assert outcome.status == "succeeded", outcome.error_message
    assert (outcome.stats.inserted, outcome.stats.updated) == (500, 0)
    local = table_rows(erp)
    assert local.keys() == remote.keys()
    assert local[later_key]["code"] == remote[later_key]["CODE"] != "LOCAL"


def test_a_first_load_into_a_table_that_already_holds_the_rows_upserts_them(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int) -> None:
    remote = erp_rows(sandbox)
    with erp.engine.begin() as conn:
        for key in list(remote)[:40]:
            conn.execute(text("INSERT INTO customers (erp_id, code, name) VALUES (:k, 'OLD', 'adopted row')"),
                         {"k": key})
    outcome = erp.runner.run(integration_id, "api")
    assert outcome.status == "succeeded", outcome.error_message
    assert (outcome.stats.inserted, outcome.stats.updated, outcome.stats.unchanged) == (len(remote) - 40, 40, 0)
    local = table_rows(erp)
    assert local.keys() == remote.keys()
    assert all(local[key]["code"] == row["CODE"] for key, row in remote.items())


@pytest.mark.parametrize(("page_size", "shifted"), [(100, False), (240, False), (100, True), (240, True)])
def test_a_first_load_counts_rows_the_table_already_held_as_unchanged_or_updated(
        erp: ErpSync, big_sandbox: RunningSandbox, page_size: int, shifted: bool) -> None:
    """Shifted: a row repeated across pages sends the second page (and the rest) the careful way."""
    erp.runner.run(_integration(erp, big_sandbox, page_size), "api")  # another integration filled the table
    keys = sorted(erp_rows(big_sandbox))
    with erp.engine.begin() as conn:
        conn.execute(text("DELETE FROM customers WHERE erp_id > :k"), {"k": keys[-30]})  # 29 rows gone
        conn.execute(text("UPDATE customers SET city = 'Αλλού' WHERE erp_id <= :k"), {"k": keys[10]})  # 11 differ
    adopting = erp.integrations.create(customer_integration(big_sandbox.url, name="adopting", source={
        "object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": page_size})).id
    shifting = _runner(erp, lambda spec: RowsShiftedConnector(erp.connectors(spec)))  # type: ignore[misc]
    outcome = (shifting if shifted else erp.runner).run(adopting, "api")
    assert outcome.status == "succeeded", outcome.error_message
    assert (outcome.stats.inserted, outcome.stats.updated, outcome.stats.unchanged) == (29, 11, 460 + shifted)
    assert run_row(erp, outcome.run_id)["unchanged"] == 460 + shifted
    assert table_rows(erp).keys() == erp_rows(big_sandbox).keys()
    assert len(_bindings(erp, adopting)) == 500


def test_a_dry_run_first_load_writes_nothing(erp: ErpSync, sandbox: RunningSandbox, integration_id: int) -> None:
    outcome = erp.runner.run(integration_id, "api", dry_run=True)
    assert outcome.status == "succeeded", outcome.error_message
    assert outcome.details["dryRun"]["wouldInsert"] == len(erp_rows(sandbox))
    assert table_rows(erp) == {} and _bindings(erp, integration_id) == {}


def test_pages_are_mapped_before_their_transaction_so_other_writers_do_not_wait_for_the_mapping(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int, database_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite a page's transaction holds the database's one write lock. While each page of a first load is
    mapped, another connection that does not wait at all (busy timeout 0) takes that lock and writes."""
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0, isolation_level=None)
    other.execute("CREATE TABLE probe (page_rows INTEGER)")
    real_map_rows = BoundMapping.map_rows

    def map_rows_while_another_writes(self: BoundMapping, rows: Any, record_ids: Any = None) -> Any:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO probe VALUES (?)", [len(rows)])
        other.execute("COMMIT")
        return real_map_rows(self, rows, record_ids)

    monkeypatch.setattr(BoundMapping, "map_rows", map_rows_while_another_writes)
    try:
        outcome = erp.runner.run(integration_id, "api")
        written = [count for (count,) in other.execute("SELECT page_rows FROM probe")]
    finally:
        other.close()
    assert outcome.status == "succeeded", outcome.error_message
    assert written == [100, 100, 50]
    assert set(table_rows(erp)) == set(erp_rows(sandbox))


def test_first_loads_leave_postgresql_statistics_that_count_all_their_bindings(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    """PostgreSQL plans the bindings lookups on the statistics of erp_sync_bindings. Those taken after a first
    load's first page must not outlive the run: a later re-sync of another integration would be planned on a
    table said to hold one page of one integration, and probe each key through the wrong index."""
    if erp.engine.dialect.name != "postgresql":
        pytest.skip("SQLite plans the lookups without statistics")
    source = {"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 50}
    known = []
    for name in ("first", "second"):
        created = erp.integrations.create(customer_integration(sandbox.url, name=name, source=source,
                                                               target={"table": f"customers_{name}",
                                                                       "createIfMissing": True}))
        assert erp.runner.run(created.id, "api").stats.inserted == 250
        with erp.engine.connect() as conn:
            known.append(conn.execute(text("SELECT reltuples FROM pg_class "
                                           "WHERE relname = 'erp_sync_bindings'")).scalar_one())
    assert known == [250, 500]
