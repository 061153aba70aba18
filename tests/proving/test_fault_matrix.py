"""A matrix of ERP faults, each cell on SQLite and PostgreSQL, with one invariant checked after every cell.

Each SoftOne cell arms one of the sandbox's fault switches (erp_sync/sandbox/faults.py) or protocol limits, runs
the first load of 120 customers in pages of 50 (the faulted run, which must end as the cell says, with the error
code it names), clears the fault, changes one ERP row, runs again (incremental) and checks the invariant
(tests/proving/fault_invariant.py): the target equals the ERP's rows, no row lost or doubled, each target row has
exactly one binding, no lease is left held, every run is in a final state, and the run after the fault converged.

The cells: transport faults the connector's retries absorb and ones that outlast them (connection refused, dropped
mid-body, HTTP 500, an HTML proxy page, a page slower than the request timeout, a gzip body cut off mid-stream),
session expiry and reqID loss (absorbed), licence exhaustion (at login, and at the re-login after a session expired
mid-run), a short row and a business error while reading (the run fails), and on two-way a setData refused by a
business rule (the push is kept pending with the ERP's message and goes through on the next run). The SOAP cells
do the same for a SOAP service: a service fault, HTTP 503 and a dropped connection while reading, a ReadMultiple
slower than the connection's timeoutSeconds on every retry (the run fails ERP_TIMEOUT), the service refusing
connections, and a business fault on push. Every cell runs in `make test`: the connectors' retries keep their count
and order but skip their backoff waits (`quick_connectors`, SoftOne and SOAP), the SoftOne timeout cell sets a
short request timeout and the SOAP one the smallest timeoutSeconds. Process faults (SIGKILL mid-page, SIGTERM) are
in tests/e2e/test_run_processes.py; SIGKILL mid-delete-scan and mid-push, PostgreSQL restarted, disk full and clock
jumps in tests/proving/test_process_faults.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest
from app_fixtures import customer_integration, two_way_customer_integration
from fault_invariant import FINAL_STATUSES, invariant_breaches
from sqlalchemy import text
from tests_support import erp_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.connectors.softone import SessionPool
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread

PAGES = {"service": "getBrowserData", "start": 50}  # the second page of the first load
REFUSED = "http://127.0.0.1:9/s1services"  # the discard port: nothing listens on loopback, connect is refused
SHORT_TIMEOUT = 0.5  # seconds: the timeout cell's request timeout, below its slow page's delay


class Cell(NamedTuple):
    faults: dict[str, Any]
    config: dict[str, Any] = {}  # sandbox protocol limits, or baseUrl for the integration
    status: str = "succeeded"  # how the faulted run ends
    code: str | None = None  # and its error code
    taken_licences: int = 0  # web sessions another client holds while the faulted run logs in


CELLS: dict[str, Cell] = {
    "connection dropped mid-body, retried": Cell({"drop_connection_on_call": {"n": 1, **PAGES, "times": 1}}),
    "connection dropped past the retries": Cell({"drop_connection_on_call": {"n": 1, **PAGES, "times": 0}},
                                                status="failed", code="ERP_UNAVAILABLE"),
    "connection refused": Cell({}, {"baseUrl": REFUSED}, "failed", "ERP_UNAVAILABLE"),
    "http 500 mid-paging, retried": Cell({"http_500_on_call": {"n": 1, **PAGES, "times": 2}}),
    "http 500 past the retries": Cell({"http_500_on_call": {"n": 1, **PAGES, "times": 0}},
                                      status="failed", code="ERP_UNAVAILABLE"),
    "html error page mid-paging, retried": Cell({"html_error_on_call": {"n": 1, **PAGES, "times": 1}}),
    "slow page": Cell({"slow_page_seconds": {"seconds": 0.3, "n": 1, "times": 2}}),
    "page slower than the request timeout": Cell({"slow_page_seconds": {"seconds": 1.2, "n": 2, "times": 0}},
                                                 status="failed", code="ERP_TIMEOUT"),
    "gzip body cut off mid-stream, retried": Cell({"truncated_gzip_on_call": {"n": 1, **PAGES, "times": 1}}),
    "gzip body cut off past the retries": Cell({"truncated_gzip_on_call": {"n": 1, **PAGES, "times": 0}},
                                               status="failed", code="ERP_UNAVAILABLE"),
    "session expired mid-run": Cell({"fail_on_call": {"n": 1, **PAGES, "errorcode": -101, "times": 1}}),
    "session expires every 3 calls": Cell({}, {"session_max_calls": 3}),
    "licence exhausted at login": Cell({}, {"max_sessions": 1}, "failed", "ERP_ACCOUNT_PROBLEM", taken_licences=1),
    # The expired session still holds the one licence in SoftOne's count: the re-login is refused.
    "licence exhausted at the re-login after a session expired mid-run": Cell(
        {"fail_on_call": {"n": 1, **PAGES, "errorcode": -101, "times": 1}}, {"max_sessions": 1},
        "failed", "ERP_ACCOUNT_PROBLEM"),
    "reqID lost mid-paging": Cell({"fail_on_call": {"n": 1, **PAGES, "errorcode": 13, "times": 1}}),
    "reqID lives for one page": Cell({}, {"reqid_max_calls": 1}),
    # ERP_BAD_RESPONSE: a row shorter than the declared fields
    "short row on a page": Cell({"short_row_on_page": {"n": 2, "times": 1}}, status="failed",
                                code="ERP_BAD_RESPONSE"),
    "business error from the ERP mid-paging": Cell({"fail_on_call": {"n": 1, **PAGES, "errorcode": 11}},
                                                   status="failed", code="ERP_ERROR"),
}


def no_wait(_seconds: float) -> None:
    """The connectors' backoff sleep, skipped: the retries keep their count and order."""


def quick_connectors(erp: ErpSync, timeout: float = 30.0) -> None:
    """Connections of `erp` that retry without waiting (SoftOne and SOAP) and time SoftOne requests out after
    `timeout` seconds. The session pool keeps the first config of a connection, so a new pool takes over (the old
    one is closed)."""
    factory = erp.connectors
    assert factory is not None
    factory._sleep = no_wait
    old, factory._pool = factory._pool, SessionPool(sleep=no_wait)
    factory._timeout = timeout
    old.close()


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=120, items=5, seed=11))
    yield running
    running.stop()


@pytest.fixture
def sandbox(shared_sandbox: RunningSandbox) -> RunningSandbox:
    shared_sandbox.app.state.reset(sessions=True)
    return shared_sandbox


def take_licences(sandbox: RunningSandbox, count: int) -> None:
    """Another client logs in `count` times and keeps its sessions."""
    login = {"service": "login", "username": "demo", "password": "demo", "appId": 1001, "COMPANY": "1000",
             "BRANCH": "1000", "MODULE": "0", "REFID": "1"}
    for _ in range(count):
        assert httpx.post(sandbox.url, json=login, timeout=10).status_code == 200


@pytest.mark.parametrize("cell", list(CELLS))
def test_after_each_erp_fault_the_target_equals_the_erp_and_the_next_run_converges(
        erp: ErpSync, sandbox: RunningSandbox, cell: str) -> None:
    faults, config, status, code, taken = CELLS[cell]
    quick_connectors(erp, SHORT_TIMEOUT if "timeout" in cell else 30.0)
    integration = erp.integrations.create(customer_integration(
        sandbox.url, source={"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 50})).id
    if "baseUrl" in config:
        erp.integrations.update(integration, {"connection": {"baseUrl": config["baseUrl"]}})
    else:
        sandbox.app.state.configure(config)
    take_licences(sandbox, taken)
    sandbox.app.state.set_faults({"clear": True, **faults})
    faulted = erp.runner.run(integration, "api")
    assert (faulted.status, faulted.error_code) == (status, code), faulted.error_message
    quick_connectors(erp)
    erp.integrations.update(integration, {"connection": {"baseUrl": sandbox.url}})
    sandbox.app.state.reset(sessions=True)  # the protocol limits, faults and counters; the rows are the seeded ones
    sandbox.app.state.patch_row("CUSTOMER", sorted(erp_rows(sandbox))[7], {"NAME": "Changed after the fault"})
    converged = erp.runner.run(integration, "api")
    assert converged.status == "succeeded", (converged.error_code, converged.error_message)
    assert invariant_breaches(erp, sandbox, integration) == []


def test_a_setdata_refused_by_a_business_rule_stays_pending_and_the_next_run_pushes_it_and_converges(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way_customer_integration(
        sandbox.url, source={"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 50})).id
    assert erp.runner.run(integration, "api").status == "succeeded"
    customer = erp_rows(sandbox)[sorted(erp_rows(sandbox))[3]]
    with erp.engine.begin() as conn:
        conn.execute(text("UPDATE customers_2w SET name = 'Edited locally' WHERE code = :c"), {"c": customer["CODE"]})
    sandbox.app.state.set_faults({"setdata_business_error": {"keys": [customer["TRDR"]]}})
    refused = erp.runner.run(integration, "api")
    assert (refused.status, refused.details["push"]["failed"]) == ("succeeded_with_errors", 1)
    assert sandbox.app.state.row("CUSTOMER", int(customer["TRDR"]))["NAME"] == customer["NAME"]
    sandbox.app.state.set_faults({"clear": True})
    converged = erp.runner.run(integration, "api")
    assert (converged.status, converged.stats.pushed) == ("succeeded", 1), converged.error_message
    assert sandbox.app.state.row("CUSTOMER", int(customer["TRDR"]))["NAME"] == "Edited locally"
    assert len(sandbox.app.state.setdata_requests()) == 2, "one refused setData and one accepted, nothing more"
    assert erp.runner.run(integration, "api").stats.pushed == 0, "the pushed change echoed back"
    assert invariant_breaches(erp, sandbox, integration, "customers_2w") == []


SOAP_READ = {"operation": "ReadMultiple"}
SOAP_TIMEOUT = 1  # seconds: the smallest connection.timeoutSeconds, for the timeout cell; the others have 10


class SoapCell(NamedTuple):
    faults: dict[str, Any]
    push_first: bool  # a local edit to push before the faulted run
    allowed: set[str]  # what the faulted run may end as
    code: str | None = None  # the faulted run's error code, where the cell names one


SOAP_CELLS: dict[str, SoapCell] = {
    "SOAP service fault while reading": SoapCell(
        {"fault_on_call": {"n": 2, **SOAP_READ, "kind": "service", "times": 1}}, False, {"failed", "succeeded"}),
    "SOAP HTTP 503 while reading": SoapCell(
        {"http_status_on_call": {"n": 2, **SOAP_READ, "status": 503, "times": 1}}, False, {"failed", "succeeded"}),
    "SOAP connection dropped while reading": SoapCell(
        {"drop_connection_on_call": {"n": 2, **SOAP_READ, "times": 1}}, False, {"failed", "succeeded"}),
    "SOAP ReadMultiple slower than timeoutSeconds past the retries": SoapCell(
        {"slow_on_call": {"n": 2, **SOAP_READ, "seconds": SOAP_TIMEOUT + 0.2, "times": 0}}, False, {"failed"},
        "ERP_TIMEOUT"),
    "SOAP business fault on push": SoapCell(
        {"fault_on_call": {"operation": "Update", "kind": "business", "times": 0}}, True,
        {"succeeded_with_errors", "failed"}),
    "SOAP connection refused": SoapCell({}, False, {"failed"}),  # the wsdlUrl names a port nothing listens on
}
SOAP_REFUSED = "http://127.0.0.1:9/DynamicsNAV/WS/CRONUS/Page/Customer"


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
    assert [s for s in statuses if s not in FINAL_STATUSES] == []


@pytest.mark.parametrize("cell", list(SOAP_CELLS))
def test_after_each_soap_fault_the_target_equals_the_erp_and_the_next_run_converges(
        erp: ErpSync, nav: Any, cell: str) -> None:
    faults, push_first, allowed, error_code = SOAP_CELLS[cell]
    quick_connectors(erp)
    nav.app.state.reset()
    integration = erp.integrations.create(_soap_body(nav)).id
    if push_first:
        assert erp.runner.run(integration, "api").status == "succeeded"
        with erp.engine.begin() as conn:
            code = conn.execute(text("SELECT min(code) FROM nav_faults")).scalar_one()
            conn.execute(text("UPDATE nav_faults SET name = 'Edited locally' WHERE code = :c"), {"c": code})
    if "refused" in cell:
        erp.integrations.update(integration, {"connection": {"wsdlUrl": SOAP_REFUSED}})
    if "timeoutSeconds" in cell:
        erp.integrations.update(integration, {"connection": {"timeoutSeconds": SOAP_TIMEOUT}})
    nav.app.state.set_faults({"clear": True, **faults})
    faulted = erp.runner.run(integration, "api")
    assert faulted.status in allowed, (faulted.status, faulted.error_code, faulted.error_message)
    assert error_code in (None, faulted.error_code), (faulted.error_code, faulted.error_message)
    nav.app.state.set_faults({"clear": True})
    erp.integrations.update(integration, {"connection": {"wsdlUrl": nav.page_url("Customer"), "timeoutSeconds": 10}})
    converged = erp.runner.run(integration, "api")
    assert converged.status == "succeeded", (converged.error_code, converged.error_message)
    if push_first:
        assert {r["Name"] for r in nav.app.state.rows("Customer")} >= {"Edited locally"}
    assert_the_soap_invariant_holds(erp, nav, integration)
