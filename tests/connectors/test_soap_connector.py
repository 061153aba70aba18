"""What only the SOAP connector has, against the SOAP sandbox over real HTTP: the window as NAV criteria, the
record's Key on updates (a stale one is never overwritten), the error families of faults and HTTP failures,
discovery with XSD types, the WSDL cache, and credentials kept out of zeep's logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from connectors.contract import read_all, record_ids
from connectors.soap_support import SoapSandboxControl, soap_config

from erp_sync.connectors.base import ConnectorError, PushRequest, Query, Window
from erp_sync.connectors.soap import SoapConfig, SoapConnector
from erp_sync.connectors.soap.transport import HttpOnlyTransport
from erp_sync.errors import ConfigurationError, ErpSyncError
from erp_sync.sandbox.soap import RunningSoapSandbox, SoapSandboxConfig, start_soap_in_thread


@pytest.fixture
def connector(soap_sandbox: RunningSoapSandbox, soap_control: SoapSandboxControl) -> Iterator[SoapConnector]:
    connector = SoapConnector(soap_config(soap_sandbox))
    yield connector
    connector.close()


def writes(soap_sandbox: RunningSoapSandbox) -> list[dict[str, object]]:
    return soap_sandbox.app.state.write_log()


def test_the_wsdl_is_fetched_at_the_first_read_not_when_the_connector_is_made(
        soap_sandbox: RunningSoapSandbox, soap_control: SoapSandboxControl) -> None:
    connector = SoapConnector(soap_config(soap_sandbox))
    assert soap_control.stats()["wsdl_fetches"] == 0
    assert len(read_all(connector, Query(object="Customer", page_size=20))) == 3
    connector.close()
    assert soap_control.stats()["wsdl_fetches"] == 1


def test_a_window_becomes_a_from_criteria_a_day_early_on_a_date_cursor(
        connector: SoapConnector, soap_control: SoapSandboxControl) -> None:
    soap_control.update_row("Customer", "C000003", {"Last_Date_Modified": "2030-05-01"})
    soap_control.update_row("Customer", "C000009", {"Last_Date_Modified": "2030-05-03"})
    soap_control.update_row("Customer", "C000012", {"Last_Date_Modified": "2030-04-30"})
    query = Query(object="Customer", cursor_field="Last_Date_Modified", page_size=10,
                  criteria=(("Blocked", "<>All"),))
    window = Window(since=datetime(2030, 5, 2, 10, 0), until=datetime(2030, 5, 3, 12, 0))
    assert record_ids(list(connector.pages(query, window))) == ["C000003", "C000009"]


def test_an_update_sends_the_stored_key_and_only_the_changed_fields(
        connector: SoapConnector, soap_sandbox: RunningSoapSandbox, soap_control: SoapSandboxControl) -> None:
    row = soap_control.rows("Customer")[4]
    result = connector.push(PushRequest(object="Customer", table="Customer", record_id=row["No"],
                                        version=row["Key"], values={"Name": row["Name"], "City": "Ιωάννινα"}))
    current = soap_sandbox.app.state.row("Customer", row["No"])
    assert current is not None and result.accepted and result.version == current["Key"] != row["Key"]
    assert current["City"] == "Ιωάννινα"
    assert [w["fields"] for w in writes(soap_sandbox)] == [{"Key": row["Key"], "City": "Ιωάννινα"}]


def test_an_update_with_a_stale_key_is_refused_with_the_current_record_and_nothing_is_written(
        connector: SoapConnector, soap_sandbox: RunningSoapSandbox, soap_control: SoapSandboxControl) -> None:
    row = soap_control.rows("Customer")[5]
    soap_control.update_row("Customer", row["No"], {"Name": "Άλλαξε στο NAV"})
    current = soap_sandbox.app.state.row("Customer", row["No"])
    assert current is not None
    stale = connector.push(PushRequest(object="Customer", table="Customer", record_id=row["No"],
                                       version=row["Key"], values={"Name": "Τοπική αλλαγή"}))
    assert (stale.accepted, stale.error_code, stale.version) == (False, "ERP_RECORD_CHANGED", current["Key"])
    assert stale.current is not None and stale.current["Name"] == "Άλλαξε στο NAV"
    assert writes(soap_sandbox) == [] and soap_sandbox.app.state.row("Customer", row["No"]) == current
    again = connector.push(PushRequest(object="Customer", table="Customer", record_id=row["No"],
                                       version=stale.version, values={"Name": "Τοπική αλλαγή"}))
    assert again.accepted and soap_sandbox.app.state.row("Customer", row["No"])["Name"] == "Τοπική αλλαγή"


def test_a_key_that_goes_stale_between_the_read_and_the_update_is_refused_the_same_way(
        connector: SoapConnector, soap_sandbox: RunningSoapSandbox, soap_control: SoapSandboxControl) -> None:
    row = soap_control.rows("Customer")[6]
    soap_control.set_faults(fault_on_call={"operation": "Update", "kind": "record_changed",
                                           "message": "Another user has modified the record for this Customer"})
    result = connector.push(PushRequest(object="Customer", table="Customer", record_id=row["No"],
                                        version=row["Key"], values={"City": "Κοζάνη"}))
    assert (result.accepted, result.error_code) == (False, "ERP_RECORD_CHANGED")
    assert result.message and "Another user" in result.message


def test_a_create_returns_the_new_number_and_key_and_a_found_reference_is_updated_instead(
        connector: SoapConnector, soap_sandbox: RunningSoapSandbox) -> None:
    made = connector.push(PushRequest(object="Customer", table="Customer", reference=("Home_Page", "ref-9"),
                                      values={"Name": "Νέα Εταιρεία Α.Ε.", "Home_Page": "ref-9", "Balance_LCY": ""}))
    stored = soap_sandbox.app.state.row("Customer", made.record_id or "")
    assert made.accepted and stored is not None and made.version == stored["Key"] and not made.existing
    again = connector.push(PushRequest(object="Customer", table="Customer", reference=("Home_Page", "ref-9"),
                                       values={"Name": "Νέα Εταιρεία Α.Ε. (διόρθωση)", "Home_Page": "ref-9"}))
    assert again.accepted and again.existing and again.record_id == made.record_id
    assert [r["Name"] for r in soap_sandbox.app.state.rows("Customer") if r["Home_Page"] == "ref-9"] == [
        "Νέα Εταιρεία Α.Ε. (διόρθωση)"]


def test_a_flowfield_or_a_deleted_record_is_a_refused_push_not_a_failed_run(
        connector: SoapConnector, soap_sandbox: RunningSoapSandbox, soap_control: SoapSandboxControl) -> None:
    row = soap_control.rows("Customer")[7]
    flow = connector.push(PushRequest(object="Customer", table="Customer", record_id=row["No"], version=row["Key"],
                                      values={"Balance_LCY": "1.00"}))
    soap_sandbox.app.state.delete_row("Customer", row["No"])
    gone = connector.push(PushRequest(object="Customer", table="Customer", record_id=row["No"], version=row["Key"],
                                      values={"Name": "x"}))
    assert (flow.accepted, flow.error_code) == (False, "ERP_BUSINESS_ERROR") and "Balance (LCY)" in str(flow.message)
    assert (gone.accepted, gone.error_code) == (False, "ERP_BUSINESS_ERROR") and "no longer exists" in str(gone.message)


@pytest.mark.parametrize(("faults", "code", "retriable"), [
    ({"http_status_on_call": {"operation": "ReadMultiple", "n": 2, "times": 0, "status": 503}},
     "ERP_UNAVAILABLE", True),
    ({"fault_on_call": {"operation": "ReadMultiple", "n": 2, "kind": "permission",
                        "message": "You do not have the following permissions on TableData Customer: Read"}},
     "ERP_ACCOUNT_PROBLEM", False),
    ({"fault_on_call": {"operation": "ReadMultiple", "n": 2, "kind": "service", "message": "Internal error"}},
     "ERP_ERROR", False),
    ({"http_status_on_call": {"operation": "ReadMultiple", "n": 2, "status": 401}}, "ERP_BAD_CREDENTIALS", False),
])
def test_read_failures_fall_into_the_error_families_naming_the_page(
        connector: SoapConnector, soap_control: SoapSandboxControl, faults: dict[str, object], code: str,
        retriable: bool) -> None:
    soap_control.set_faults(**faults)
    with pytest.raises(ConnectorError) as caught:
        read_all(connector, Query(object="Customer", page_size=10))
    assert (caught.value.code, caught.value.retriable, caught.value.page) == (code, retriable, 2)


def test_a_503_that_passes_is_retried_and_loses_no_record(connector: SoapConnector,
                                                          soap_control: SoapSandboxControl) -> None:
    soap_control.set_faults(http_status_on_call={"operation": "ReadMultiple", "n": 3, "times": 2, "status": 503})
    pages = read_all(connector, Query(object="Customer", page_size=10))
    assert record_ids(pages) == [row["No"] for row in soap_control.rows("Customer")]
    assert soap_control.stats()["faults_fired"] == {"http_status_on_call": 2}


def test_a_failing_service_is_unavailable_after_the_bounded_retries(connector: SoapConnector,
                                                                    soap_control: SoapSandboxControl) -> None:
    soap_control.configure(failing=True)
    with pytest.raises(ConnectorError) as caught:
        read_all(connector, Query(object="Customer", page_size=10))
    assert (caught.value.code, caught.value.retriable) == ("ERP_UNAVAILABLE", True)
    assert soap_control.stats()["calls"]["(failing)"] == 3


def test_a_slow_service_times_out_after_timeout_seconds(soap_sandbox: RunningSoapSandbox,
                                                        soap_control: SoapSandboxControl) -> None:
    connector = SoapConnector(soap_config(soap_sandbox, timeout_seconds=1, max_retries=0))
    soap_control.configure(slow_seconds=1.5)
    with pytest.raises(ConnectorError) as caught:
        read_all(connector, Query(object="Customer", page_size=10))
    connector.close()
    assert (caught.value.code, caught.value.retriable, caught.value.page) == ("ERP_TIMEOUT", True, 1)
    assert "pageSize" in caught.value.message


def test_a_readmultiple_slower_than_the_timeout_once_is_retried_and_loses_no_record(
        soap_sandbox: RunningSoapSandbox, soap_control: SoapSandboxControl) -> None:
    connector = SoapConnector(soap_config(soap_sandbox, timeout_seconds=1, max_retries=1))
    soap_control.set_faults(slow_on_call={"operation": "ReadMultiple", "n": 2, "seconds": 1.3})
    pages = read_all(connector, Query(object="Customer", page_size=10))
    connector.close()
    assert record_ids(pages) == [row["No"] for row in soap_control.rows("Customer")]
    assert soap_control.stats()["faults_fired"] == {"slow_on_call": 1}


def test_a_readmultiple_slower_than_the_timeout_on_every_retry_is_erp_timeout_naming_the_page(
        soap_sandbox: RunningSoapSandbox, soap_control: SoapSandboxControl) -> None:
    connector = SoapConnector(soap_config(soap_sandbox, timeout_seconds=1, max_retries=1))
    soap_control.set_faults(slow_on_call={"operation": "ReadMultiple", "n": 2, "times": 0, "seconds": 1.3})
    with pytest.raises(ConnectorError) as caught:
        read_all(connector, Query(object="Customer", page_size=10))
    connector.close()
    assert (caught.value.code, caught.value.retriable, caught.value.page) == ("ERP_TIMEOUT", True, 2)
    assert soap_control.stats()["faults_fired"] == {"slow_on_call": 2}


def test_discovery_lists_operations_and_the_records_fields_with_xsd_types(connector: SoapConnector) -> None:
    report = connector.check()
    operations = {o["name"]: o.get("parameters") for o in report.objects if o["kind"] == "operation"}
    assert operations["ReadMultiple"] == ["filter", "bookmarkKey", "setSize"]
    assert {"Read", "Create", "Update", "Delete"} <= set(operations)
    fields = {f["name"]: (f["type"], f["xsdType"]) for f in connector.table_fields("Customer", "Customer")}
    assert fields["Balance_LCY"] == ("decimal", "decimal") and fields["Last_Date_Modified"] == ("date", "date")
    assert fields["Blocked"] == ("Blocked", "string") and fields["No"] == ("string", "string")


def test_an_object_the_wsdl_lacks_is_unknown_object(connector: SoapConnector) -> None:
    with pytest.raises(ErpSyncError) as caught:
        list(connector.pages(Query(object="Vendor")))
    assert caught.value.code == "UNKNOWN_OBJECT" and "Customer" in caught.value.message


def test_file_urls_are_never_loaded() -> None:
    with pytest.raises(ConfigurationError):
        SoapConfig(wsdl_url="file:///etc/passwd")
    with pytest.raises(ConfigurationError) as caught:
        HttpOnlyTransport().load("file:///etc/hostname")
    assert "http(s) only" in caught.value.message


def test_ntlm_without_its_package_is_a_configuration_error(soap_sandbox: RunningSoapSandbox) -> None:
    try:
        import requests_ntlm  # noqa: F401
        pytest.skip("requests-ntlm is installed here")
    except ImportError:
        pass
    connector = SoapConnector(soap_config(soap_sandbox, auth="ntlm"))
    with pytest.raises(ConfigurationError) as caught:
        connector.check()
    assert caught.value.code == "CONFIGURATION_ERROR" and "erp-sync[ntlm]" in caught.value.message


def test_the_wsdl_is_kept_in_the_sqlite_cache_across_connectors(soap_sandbox: RunningSoapSandbox,
                                                                soap_control: SoapSandboxControl,
                                                                tmp_path: Path) -> None:
    cache = tmp_path / "zeep-cache.sqlite3"
    for _ in range(2):
        connector = SoapConnector(soap_config(soap_sandbox, "Item", cache_path=str(cache)))
        assert len(record_ids(read_all(connector, Query(object="Item", page_size=50)))) == 25
        connector.close()
    assert cache.exists() and soap_control.stats()["wsdl_fetches"] == 1


def test_wsse_credentials_never_reach_the_log_even_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cret-Κωδικός"
    with start_soap_in_thread(SoapSandboxConfig(customers=3, auth="wsse", password=secret)) as running:
        connector = SoapConnector(SoapConfig(wsdl_url=running.page_url("Customer"), username="demo",
                                             password=secret, auth="wsse", timeout_seconds=5))
        with caplog.at_level(logging.DEBUG):
            rows = record_ids(read_all(connector, Query(object="Customer", page_size=2)))
        connector.close()
    assert rows == ["C000001", "C000002", "C000003"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "UsernameToken" in logged and "HTTP Post" in logged
    assert secret not in logged and "Password" in logged


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_verify_refuses_a_self_signed_certificate_unless_switched_off() -> None:
    import threading

    from werkzeug.serving import make_server

    from erp_sync.sandbox.soap import create_app

    server = make_server("127.0.0.1", 0, create_app(SoapSandboxConfig(customers=4)), threaded=True,
                         ssl_context="adhoc")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_port}/WS/CRONUS/Page/Customer"
    try:
        strict = SoapConnector(SoapConfig(wsdl_url=url, username="demo", password="demo", max_retries=0))
        with pytest.raises(ConnectorError) as caught:
            strict.check()
        lenient = SoapConnector(SoapConfig(wsdl_url=url, username="demo", password="demo", tls_verify=False))
        rows = record_ids(read_all(lenient, Query(object="Customer", page_size=3)))
    finally:
        server.shutdown()
    assert caught.value.code == "ERP_UNAVAILABLE" and "SSLError" in caught.value.message
    assert rows == ["C000001", "C000002", "C000003", "C000004"]
