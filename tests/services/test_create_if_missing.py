"""A createIfMissing integration's first run creates its table and finds the table's unique key, in a process whose
connection pool already holds connections that read the schema before the table existed (as a serving process's
readers leave it). Real sandbox over HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

from app_fixtures import customer_integration
from tests_support import erp_rows, table_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox


def _warm_the_pool(erp: ErpSync, connections: int = 8) -> None:
    """Check out several connections at once, have each read the schema as it is now, and hand them back."""
    warm = [erp.engine.raw_connection() for _ in range(connections)]
    for connection in warm:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM erp_sync_runs")
        cursor.fetchall()
        cursor.close()
        connection.commit()
    for connection in warm:
        connection.close()


def test_the_first_run_creates_its_table_and_finds_its_unique_key_whatever_connections_the_pool_holds(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(customer_integration(
        sandbox.url, name="made", target={"table": "made_here", "createIfMissing": True})).id
    _warm_the_pool(erp)
    outcome = erp.runner.run(integration, "api", full=True)
    assert (outcome.status, outcome.error_code) == ("succeeded", None), outcome.error_message
    assert set(table_rows(erp, "made_here")) == set(erp_rows(sandbox))
    _warm_the_pool(erp)
    again = erp.runner.run(integration, "api", full=True)
    assert (again.status, again.error_code) == ("succeeded", None), again.error_message
