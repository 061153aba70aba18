"""Bindings never outlive their integration, though they have no foreign key to it (migration 0003): deleting an
integration deletes its row first and then its bindings, and every transaction that adds bindings renews the
run's lease on that row. Real runs against the sandbox, and the two interleavings of a page transaction with a
concurrent delete on PostgreSQL (SQLite runs one writer at a time)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from app_fixtures import customer_integration
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync
from erp_sync.db import bindings, runs
from erp_sync.domain.run import RunStats
from erp_sync.errors import ErpSyncError
from erp_sync.sandbox import RunningSandbox

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _bound(erp: ErpSync, integration_id: int) -> int:
    with erp.engine.connect() as conn:
        return bindings.count(conn, integration_id)


def test_deleting_an_integration_deletes_its_bindings_and_no_other(erp: ErpSync, sandbox: RunningSandbox) -> None:
    first = erp.integrations.create(customer_integration(sandbox.url)).id
    other = erp.integrations.create(customer_integration(sandbox.url, name="customers again")).id
    assert erp.runner.run(first, "api").ok and erp.runner.run(other, "api").ok
    assert _bound(erp, first) == _bound(erp, other) == 250
    erp.integrations.delete(first)
    assert (_bound(erp, first), _bound(erp, other)) == (0, 250)


def test_a_run_whose_integration_is_deleted_between_pages_fails_and_leaves_no_binding(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(customer_integration(sandbox.url)).id

    def delete_after_the_first_page(stats: RunStats) -> None:
        if stats.pages == 1:
            erp.integrations.delete(integration)

    outcome = erp.runner.run(integration, "api", progress=delete_after_the_first_page)
    assert (outcome.status, outcome.error_code) == ("failed", "LEASE_LOST")
    message = outcome.error_message or ""
    assert f"integration {integration} was deleted while run {outcome.run_id} was working" in message
    assert "another run" not in message
    assert _bound(erp, integration) == 0


def _leased(erp: ErpSync, sandbox: RunningSandbox) -> tuple[int, runs.Lease]:
    integration = erp.integrations.create(customer_integration(sandbox.url)).id
    run_id = runs.open_run(erp.engine, integration, "api", "test", NOW, full=False, dry_run=False)
    lease = runs.acquire_lease(erp.engine, integration, "test", run_id, NOW, timedelta(minutes=5))
    assert lease is not None
    return integration, lease


def _page(integration: int) -> list[tuple[str, str, str, str | None]]:
    return [(str(i), f"C{i}", f"h{i}", f"s{i}") for i in range(300)]  # over 200: the COPY path


def test_a_page_written_while_its_integration_is_deleted_rolls_back(erp: ErpSync, sandbox: RunningSandbox) -> None:
    if erp.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: no interleaving to test")
    integration, lease = _leased(erp, sandbox)
    with erp.engine.connect() as page:
        assert bindings.insert_absent(page, integration, _page(integration), NOW)
        erp.integrations.delete(integration)  # another connection; the page has not touched the integration row
        with pytest.raises(ErpSyncError) as lost:
            runs.renew_lease(page, lease, NOW, timedelta(minutes=5))
        page.rollback()
    assert lost.value.code == "LEASE_LOST" and "was deleted" in lost.value.message
    assert _bound(erp, integration) == 0


def test_a_delete_that_waits_for_a_page_deletes_the_page_bindings(erp: ErpSync, sandbox: RunningSandbox) -> None:
    if erp.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time: no interleaving to test")
    integration, lease = _leased(erp, sandbox)
    deleted = threading.Event()
    with erp.engine.connect() as page:
        runs.renew_lease(page, lease, NOW, timedelta(minutes=5))  # the page holds the integration row now
        deleter = threading.Thread(target=lambda: (erp.integrations.delete(integration), deleted.set()))
        deleter.start()
        assert not deleted.wait(0.5)  # the delete waits for the page
        assert bindings.insert_absent(page, integration, _page(integration), NOW)
        page.commit()
    deleter.join(10)
    assert deleted.is_set()
    assert _bound(erp, integration) == 0
    with erp.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM erp_sync_integrations WHERE id = :i"),
                            {"i": integration}).scalar_one() == 0
