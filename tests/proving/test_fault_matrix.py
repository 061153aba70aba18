"""A matrix of ERP faults, each cell on SQLite and PostgreSQL, with one invariant checked after every cell.

Each cell arms one of the SoftOne sandbox's fault switches (erp_sync/sandbox/faults.py) or protocol limits, runs
the first load of 120 customers in pages of 50, clears the fault, runs again (incremental) and checks:
the target equals the ERP's rows, no row lost or doubled, each target row has exactly one binding, no lease is
left held, and every run is in a final state. Process faults (SIGKILL mid-page, SIGTERM) are in
tests/e2e/test_run_processes.py. ERP_SYNC_PROVING=deep adds the cells that cost seconds each: faults that
outlast the connector's retries and a page slower than the request timeout.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from app_fixtures import customer_integration
from sqlalchemy import text
from tests_support import erp_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.domain.run import RunStatus
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread

DEEP = os.environ.get("ERP_SYNC_PROVING") == "deep"
FINAL = {RunStatus.SUCCEEDED, RunStatus.SUCCEEDED_WITH_ERRORS, RunStatus.FAILED, RunStatus.SKIPPED,
         RunStatus.ABANDONED}
PAGES = {"service": "getBrowserData", "start": 50}  # the second page of the first load

# (faults to arm, sandbox config changes, what the faulted run may end as)
CELLS: dict[str, tuple[dict[str, Any], dict[str, Any], set[str]]] = {
    "connection dropped mid-body, retried": ({"drop_connection_on_call": {"n": 1, **PAGES, "times": 1}}, {},
                                             {"succeeded"}),
    "http 500 mid-paging, retried": ({"http_500_on_call": {"n": 1, **PAGES, "times": 2}}, {}, {"succeeded"}),
    "html error page mid-paging, retried": ({"html_error_on_call": {"n": 1, **PAGES, "times": 1}}, {},
                                            {"succeeded"}),
    "slow page": ({"slow_page_seconds": {"seconds": 0.3, "n": 1, "times": 2}}, {}, {"succeeded"}),
    "session expired mid-run": ({"fail_on_call": {"n": 1, **PAGES, "errorcode": -101, "times": 1}}, {},
                                {"succeeded"}),
    "session expires every 3 calls": ({}, {"session_max_calls": 3}, {"succeeded"}),
    "reqID lost mid-paging": ({"fail_on_call": {"n": 1, **PAGES, "errorcode": 13, "times": 1}}, {},
                              {"succeeded"}),
    "reqID lives for one page": ({}, {"reqid_max_calls": 1}, {"succeeded"}),
    "short row on a page": ({"short_row_on_page": {"n": 2, "times": 1}}, {},
                            {"failed"}),  # ERP_BAD_RESPONSE: a row shorter than the declared fields
    "business error from the ERP mid-paging": ({"fail_on_call": {"n": 1, **PAGES, "errorcode": 11}}, {},
                                               {"failed"}),
}
REFUSED = "http://127.0.0.1:9/s1services"  # the discard port: nothing listens on loopback, connect is refused
DEEP_CELLS: dict[str, tuple[dict[str, Any], dict[str, Any], set[str]]] = {
    "connection refused": ({}, {"baseUrl": REFUSED}, {"failed"}),
    "http 500 past the retries": ({"http_500_on_call": {"n": 1, **PAGES, "times": 0}}, {}, {"failed"}),
    "connection dropped past the retries": ({"drop_connection_on_call": {"n": 1, **PAGES, "times": 0}}, {},
                                            {"failed"}),
    "page slower than the request timeout": ({"slow_page_seconds": {"seconds": 2.5, "n": 2, "times": 0}}, {},
                                             {"failed"}),
}
MATRIX = {**CELLS, **(DEEP_CELLS if DEEP else {})}


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=120, items=5, seed=11))
    yield running
    running.stop()


@pytest.fixture
def sandbox(shared_sandbox: RunningSandbox) -> RunningSandbox:
    shared_sandbox.app.state.reset(sessions=True)
    return shared_sandbox


def assert_the_invariant_holds(erp: ErpSync, sandbox: RunningSandbox, integration: int) -> None:
    with erp.engine.connect() as conn:
        rows = conn.execute(text("SELECT erp_id, code, name FROM customers")).all()
        bindings = conn.execute(text("SELECT count(*), count(DISTINCT local_key) FROM erp_sync_bindings "
                                     "WHERE integration_id = :i"), {"i": integration}).one()
        lease = conn.execute(text("SELECT lease_owner, lease_run_id FROM erp_sync_integrations WHERE id = :i"),
                             {"i": integration}).one()
        statuses = conn.execute(text("SELECT id, status FROM erp_sync_runs WHERE integration_id = :i"),
                                {"i": integration}).all()
    erp_side = {key: (row["CODE"], row["NAME"]) for key, row in erp_rows(sandbox).items()}
    assert len(rows) == len({r.erp_id for r in rows}), "a row is doubled"
    assert {int(r.erp_id): (r.code, r.name) for r in rows} == erp_side
    assert tuple(bindings) == (len(rows), len(rows))
    assert tuple(lease) == (None, None), "the lease is still held"
    assert [s for s in statuses if s.status not in FINAL] == []


@pytest.mark.parametrize("cell", list(MATRIX))
def test_after_each_erp_fault_the_target_equals_the_erp_and_the_next_run_converges(
        erp: ErpSync, sandbox: RunningSandbox, cell: str) -> None:
    faults, config, allowed = MATRIX[cell]
    if "timeout" in cell:
        erp.connectors._timeout = 1.0  # a page slower than the timeout, without waiting 30 s
    integration = erp.integrations.create(customer_integration(
        sandbox.url, source={"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 50})).id
    if "baseUrl" in config:
        erp.integrations.update(integration, {"connection": {"baseUrl": config["baseUrl"]}})
    else:
        sandbox.app.state.configure(config)
    sandbox.app.state.set_faults({"clear": True, **faults})
    faulted = erp.runner.run(integration, "api")
    assert faulted.status in allowed, (faulted.status, faulted.error_code, faulted.error_message)
    erp.integrations.update(integration, {"connection": {"baseUrl": sandbox.url}})
    sandbox.app.state.set_faults({"clear": True})
    sandbox.app.state.reset()  # also the protocol limits, faults and counters; the rows are the seeded ones
    sandbox.app.state.patch_row("CUSTOMER", sorted(erp_rows(sandbox))[7], {"NAME": "Changed after the fault"})
    converged = erp.runner.run(integration, "api")
    assert converged.status == "succeeded", (converged.error_code, converged.error_message)
    assert_the_invariant_holds(erp, sandbox, integration)


SOAP_READ = {"operation": "ReadMultiple"}
# (faults to arm, local edit to push first, what the faulted run may end as)
SOAP_CELLS: dict[str, tuple[dict[str, Any], bool, set[str]]] = {
    "SOAP service fault while reading": ({"fault_on_call": {"n": 2, **SOAP_READ, "kind": "service", "times": 1}},
                                         False, {"failed", "succeeded"}),
    "SOAP HTTP 503 while reading": ({"http_status_on_call": {"n": 2, **SOAP_READ, "status": 503, "times": 1}},
                                    False, {"failed", "succeeded"}),
    "SOAP connection dropped while reading": ({"drop_connection_on_call": {"n": 2, **SOAP_READ, "times": 1}},
                                              False, {"failed", "succeeded"}),
    "SOAP business fault on push": ({"fault_on_call": {"operation": "Update", "kind": "business", "times": 0}},
                                    True, {"succeeded_with_errors", "failed"}),
}


@pytest.fixture(scope="module")
def nav() -> Iterator[Any]:
    from erp_sync.sandbox.soap import SoapSandboxConfig, start_soap_in_thread

    with start_soap_in_thread(SoapSandboxConfig(customers=120, items=5, seed=11)) as running:
        yield running


def _soap_body(nav: Any) -> dict[str, Any]:
    return customer_integration(
        name="nav-customers", connector="soap", direction="two_way",
        connection={"profile": "nav_page", "wsdlUrl": nav.page_url("Customer"), "username": "demo",
                    "password": "demo", "timeoutSeconds": 10},
        source={"object": "Customer", "pageSize": 50}, target={"table": "nav_faults", "createIfMissing": True},
        mappings=[{"source": "No", "target": "code"}, {"source": "Name", "target": "name"}], keys=["code"])


def assert_the_soap_invariant_holds(erp: ErpSync, nav: Any, integration: int) -> None:
    with erp.engine.connect() as conn:
        rows = conn.execute(text("SELECT code, name FROM nav_faults")).all()
        bindings = conn.execute(text("SELECT count(*) FROM erp_sync_bindings WHERE integration_id = :i"),
                                {"i": integration}).scalar_one()
        lease = conn.execute(text("SELECT lease_owner FROM erp_sync_integrations WHERE id = :i"),
                             {"i": integration}).scalar_one()
        statuses = conn.execute(text("SELECT status FROM erp_sync_runs WHERE integration_id = :i"),
                                {"i": integration}).scalars().all()
    assert len(rows) == len({r.code for r in rows}), "a row is doubled"
    assert {r.code: r.name for r in rows} == {r["No"]: r["Name"] for r in nav.app.state.rows("Customer")}
    assert bindings == len(rows)
    assert lease is None, "the lease is still held"
    assert [s for s in statuses if s not in FINAL] == []


@pytest.mark.parametrize("cell", list(SOAP_CELLS))
def test_after_each_soap_fault_the_target_equals_the_erp_and_the_next_run_converges(
        erp: ErpSync, nav: Any, cell: str) -> None:
    faults, push_first, allowed = SOAP_CELLS[cell]
    nav.app.state.reset()
    integration = erp.integrations.create(_soap_body(nav)).id
    if push_first:
        assert erp.runner.run(integration, "api").status == "succeeded"
        with erp.engine.begin() as conn:
            code = conn.execute(text("SELECT min(code) FROM nav_faults")).scalar_one()
            conn.execute(text("UPDATE nav_faults SET name = 'Edited locally' WHERE code = :c"), {"c": code})
    nav.app.state.set_faults({"clear": True, **faults})
    faulted = erp.runner.run(integration, "api")
    assert faulted.status in allowed, (faulted.status, faulted.error_code, faulted.error_message)
    nav.app.state.set_faults({"clear": True})
    converged = erp.runner.run(integration, "api")
    assert converged.status == "succeeded", (converged.error_code, converged.error_message)
    if push_first:
        assert {r["Name"] for r in nav.app.state.rows("Customer")} >= {"Edited locally"}
    assert_the_soap_invariant_holds(erp, nav, integration)
