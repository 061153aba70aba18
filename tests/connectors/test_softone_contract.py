"""The SoftOne connector against the SoftOne sandbox over real HTTP: the connector contract, plus what only
SoftOne has (reqIDs that keep expiring, SqlData scripts, GetTable, the lost insert answer).

The sandbox runs once per module with its quirks on (cp1253 bodies without charset, headerless gzip on every
third answer, raw TABs); every test starts from `POST /_sandbox/reset` with all sessions forgotten. The contract
runs twice: with a one-step login (environment configured) and a two-step one (environment picked from `objs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from connectors.contract import ConnectorContract, ContractCase, read_all, record_ids

from erp_sync.connectors.base import BadResponseError, PushRequest, Query, RetriableConnectorError, Window
from erp_sync.connectors.softone import SessionPool, SoftOneConfig, SoftOneConnector
from erp_sync.connectors.softone.browser import AHEAD
from erp_sync.sandbox import SandboxConfig, start_in_thread

CUSTOMERS = 45
ENVIRONMENT = {"company": "1000", "branch": "1000", "module": "0", "ref_id": "1"}


class SandboxControl:
    """The contract's `ServerControl`, spoken to the sandbox's admin surface."""

    def __init__(self, admin_url: str) -> None:
        self._http = httpx.Client(base_url=admin_url + "/", timeout=5)

    def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._send("POST", "reset", {"sessions": True})

    def stats(self) -> dict[str, Any]:
        return self._send("GET", "stats")

    def logins(self) -> int:
        return int(self.stats()["logins"])

    def login_attempts(self) -> int:
        return int(self.stats()["calls"].get("login", 0))

    def errors_answered(self) -> int:
        return int(self.stats()["errors"])

    def expire_sessions(self) -> None:
        self._send("POST", "sessions/expire")

    def lose_paging_handle(self) -> None:
        self.set_faults(fail_on_call={"errorcode": 13, "service": "getBrowserData"})

    def use_hostile_encoding(self) -> None:
        self.configure(cp1253_bodies=True, gzip_some=True, gzip_every=1, raw_tabs=True)

    def reject_next_write(self, message: str) -> None:
        self.set_faults(setdata_business_error=message)

    def rows(self, object_name: str) -> list[dict[str, str]]:
        return self._send("GET", f"rows/{object_name}")

    def update_row(self, object_name: str, record_id: str, values: dict[str, str]) -> None:
        self._send("PATCH", f"rows/{object_name}/{record_id}", values)

    def set_faults(self, **faults: Any) -> None:
        self._send("POST", "faults", faults)

    def configure(self, **switches: Any) -> None:
        self._send("POST", "config", switches)

    def close(self) -> None:
        self._http.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    running = start_in_thread(SandboxConfig(seed=1, customers=CUSTOMERS, items=20))
    yield running
    running.stop()


@pytest.fixture
def control(sandbox: Any) -> Iterator[SandboxControl]:
    control = SandboxControl(sandbox.admin_url)
    control.reset()
    yield control
    control.close()


def sandbox_config(sandbox: Any, *, one_step: bool = True, password: str | None = None,
                   **extra: Any) -> SoftOneConfig:
    environment = ENVIRONMENT if one_step else {}
    return SoftOneConfig(base_url=sandbox.url, username="demo", password=password or "demo", app_id="1001",
                         timeout_seconds=5, connect_timeout_seconds=1, max_retries=2, retry_backoff_seconds=0.005,
                         retry_backoff_max_seconds=0.02, **environment, **extra)


@pytest.fixture(params=["one-step login", "two-step login"])
def case(request: pytest.FixtureRequest, sandbox: Any, control: SandboxControl) -> ContractCase:
    one_step = request.param == "one-step login"

    def connect(password: str | None = None) -> SoftOneConnector:
        return SoftOneConnector(sandbox_config(sandbox, one_step=one_step, password=password))

    return ContractCase(
        connect=connect, server=control, object_name="CUSTOMER", table="CUSTOMER", key_field="TRDR",
        query=Query(object="CUSTOMER", page_size=5),  # more pages than the requests on their way at once
        empty_query=Query(object="CUSTOMER", filters="CUSTOMER.CODE=NO-SUCH-CUSTOMER", page_size=10),
        text_column="CUSTOMER.NAME", text_field="NAME", writable_field="REMARKS",
        insert_values={"CODE": "ERPSYNC-0001", "NAME": "Νέος Πελάτης από το erp-sync"}, reference_field="CODE1",
        requests_ahead=AHEAD,
    )


class TestSoftOneConnectorContract(ConnectorContract):
    pass


@pytest.fixture
def connector(sandbox: Any, control: SandboxControl) -> Iterator[SoftOneConnector]:
    connector = SoftOneConnector(sandbox_config(sandbox))
    yield connector
    connector.close()


def test_every_browser_column_matches_the_sandbox_rows_including_raw_tabs(
        connector: SoftOneConnector, control: SandboxControl) -> None:
    pages = read_all(connector, Query(object="CUSTOMER", page_size=16))
    expected = control.rows("CUSTOMER")
    fields = pages[0].fields
    assert fields[0] == "ZOOMINFO"
    got = [dict(zip(fields, row, strict=True)) for page in pages for row in page.rows]
    for mine, theirs in zip(got, expected, strict=True):
        assert {name: mine[f"CUSTOMER.{name}"] for name in theirs if f"CUSTOMER.{name}" in mine} == {
            name: value for name, value in theirs.items() if f"CUSTOMER.{name}" in mine}
    assert any("\t" in row["REMARKS"] for row in expected)


def test_reqids_that_expire_every_second_call_still_yield_every_row_once(
        connector: SoftOneConnector, control: SandboxControl) -> None:
    control.configure(reqid_max_calls=2)
    pages = read_all(connector, Query(object="CUSTOMER", page_size=5))
    assert record_ids(pages) == [row["TRDR"] for row in control.rows("CUSTOMER")]
    assert control.stats()["calls"]["getBrowserInfo"] > 1


def test_a_window_reads_only_records_changed_inside_it(connector: SoftOneConnector,
                                                       control: SandboxControl) -> None:
    control.update_row("CUSTOMER", "3", {"UPDDATE": "2030-05-01 10:00:00"})
    control.update_row("CUSTOMER", "9", {"UPDDATE": "2030-05-01 10:20:00"})
    control.update_row("CUSTOMER", "12", {"UPDDATE": "2030-05-02 10:00:00"})
    query = Query(object="CUSTOMER", cursor_field="CUSTOMER.UPDDATE", page_size=10)
    window = Window(since=datetime(2030, 5, 1, 10, 3), until=datetime(2030, 5, 1, 12, 0))
    assert record_ids(list(connector.pages(query, window))) == ["3", "9"]


def test_an_insert_whose_connection_dropped_is_looked_up_then_made_once(
        connector: SoftOneConnector, control: SandboxControl) -> None:
    control.set_faults(drop_connection_on_call={"service": "setData"})
    result = connector.push(PushRequest(object="CUSTOMER", table="CUSTOMER", reference=("CODE1", "order-77"),
                                        values={"CODE": "ERPSYNC-77", "NAME": "Παραγγελία 77", "CODE1": "order-77"}))
    matches = [row for row in control.rows("CUSTOMER") if row["CODE1"] == "order-77"]
    assert result.accepted and [row["TRDR"] for row in matches] == [result.record_id]
    assert control.stats()["calls"]["setData"] == 2


def test_an_insert_saved_by_a_run_that_could_not_store_its_id_is_updated_not_made_twice(
        connector: SoftOneConnector, control: SandboxControl) -> None:
    first = connector.push(PushRequest(object="CUSTOMER", table="CUSTOMER", reference=("CODE1", "order-78"),
                                       values={"CODE": "ERPSYNC-78", "NAME": "Παραγγελία 78", "CODE1": "order-78"}))
    # The run that pushed it died before binding first.record_id; the next run pushes the row, edited since, again.
    again = connector.push(PushRequest(object="CUSTOMER", table="CUSTOMER", reference=("CODE1", "order-78"),
                                       values={"CODE": "ERPSYNC-78", "NAME": "Παραγγελία 78, διορθωμένη",
                                               "CODE1": "order-78"}))
    matches = [row for row in control.rows("CUSTOMER") if row["CODE1"] == "order-78"]
    assert first.accepted and again.accepted and again.record_id == first.record_id
    assert (first.existing, again.existing) == (False, True)
    assert [(row["TRDR"], row["NAME"]) for row in matches] == [(first.record_id, "Παραγγελία 78, διορθωμένη")]
    assert control.stats()["calls"]["setData"] == 2


def test_sqldata_script_pages_a_window_of_changed_customers(connector: SoftOneConnector,
                                                            control: SandboxControl) -> None:
    for key in ("4", "8", "15", "16", "30"):
        control.update_row("CUSTOMER", key, {"UPDDATE": f"2031-01-01 00:{int(key):02d}:00"})
    query = Query(object="ChangedCustomers", mode="sqlData", page_size=2, key_field="TRDR",
                  params={"sinceParam": "since", "pageParam": "pPage", "sizeParam": "pSize"})
    pages = list(connector.pages(query, Window(since=datetime(2031, 1, 1, 0, 5), until=datetime(2031, 1, 2))))
    assert [len(p) for p in pages] == [2, 2, 1]
    assert record_ids(pages) == ["4", "8", "15", "16", "30"]
    assert pages[0].fields[:3] == ("TRDR", "CODE", "NAME")


def test_gettable_reads_a_window_with_a_checked_filter(connector: SoftOneConnector,
                                                       control: SandboxControl) -> None:
    control.update_row("CUSTOMER", "5", {"UPDDATE": "2032-03-03 03:03:03", "ISACTIVE": "1"})
    control.update_row("CUSTOMER", "6", {"UPDDATE": "2032-03-03 04:00:00", "ISACTIVE": "0"})
    query = Query(object="TRDR", mode="getTable", fields=("TRDR", "NAME", "UPDDATE"), filters="ISACTIVE=1",
                  cursor_field="UPDDATE", key_field="TRDR")
    [page] = connector.pages(query, Window(since=datetime(2032, 3, 3), until=datetime(2032, 3, 4)))
    assert page.record_ids == ["5"] and page.fields == ("TRDR", "NAME", "UPDDATE")


def test_connectors_with_the_same_connection_share_one_login(sandbox: Any, control: SandboxControl) -> None:
    pool = SessionPool()
    first = SoftOneConnector(sandbox_config(sandbox), pool)
    second = SoftOneConnector(sandbox_config(sandbox), pool)
    first.check()
    list(second.pages(Query(object="ITEM", page_size=50)))
    first.close()
    second.check()
    pool.close()
    assert control.logins() == 1 and len(pool) == 0


def test_discovery_lists_tables_and_fields(connector: SoftOneConnector) -> None:
    tables = {t["name"]: t["dbname"] for t in connector.object_tables("CUSTOMER")}
    fields = {f["name"] for f in connector.table_fields("CUSTOMER", "CUSTOMER")}
    assert tables["CUSTOMER"] == "TRDR" and {"TRDR", "CODE", "NAME", "UPDDATE"} <= fields


def test_a_proxy_error_page_that_persists_fails_retriably_naming_the_page(connector: SoftOneConnector,
                                                                          control: SandboxControl) -> None:
    control.set_faults(html_error_on_call={"service": "getBrowserData", "start": 10, "times": 0})
    with pytest.raises(RetriableConnectorError) as caught:
        read_all(connector, Query(object="CUSTOMER", page_size=10))
    assert (caught.value.code, caught.value.page) == ("ERP_UNAVAILABLE", 2)
    assert control.stats()["faults_fired"]["html_error_on_call"] == 3


def test_a_short_row_is_refused_naming_its_page_and_row(connector: SoftOneConnector,
                                                        control: SandboxControl) -> None:
    control.set_faults(short_row_on_page={"start": 20})
    with pytest.raises(BadResponseError) as caught:
        read_all(connector, Query(object="CUSTOMER", page_size=10))
    assert (caught.value.page, caught.value.details["row"]) == (3, 0)


def test_a_gzip_answer_cut_off_mid_stream_is_retried_and_the_read_loses_no_row(connector: SoftOneConnector,
                                                                               control: SandboxControl) -> None:
    control.set_faults(truncated_gzip_on_call={"service": "getBrowserData", "start": 10, "times": 1})
    pages = read_all(connector, Query(object="CUSTOMER", page_size=10))
    assert record_ids(pages) == [row["TRDR"] for row in control.rows("CUSTOMER")]
    assert control.stats()["faults_fired"]["truncated_gzip_on_call"] == 1


def test_a_gzip_answer_cut_off_on_every_retry_fails_retriably_saying_the_answer_was_cut_off(
        connector: SoftOneConnector, control: SandboxControl) -> None:
    control.set_faults(truncated_gzip_on_call={"service": "getBrowserData", "start": 10, "times": 0})
    with pytest.raises(RetriableConnectorError) as caught:
        read_all(connector, Query(object="CUSTOMER", page_size=10))
    assert (caught.value.code, caught.value.page) == ("ERP_UNAVAILABLE", 2)
    assert "getBrowserData (page 2)" in caught.value.message and "cut off" in caught.value.message
    assert control.stats()["faults_fired"]["truncated_gzip_on_call"] == 3
