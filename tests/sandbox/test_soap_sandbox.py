"""The SOAP sandbox over real HTTP: NAV-style WSDLs behind basic auth, ReadMultiple with bookmarks and filters,
Create, Update with Key checks, Delete, faults, the slow and failing switches and the admin surface."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from lxml import etree
from sandbox_support import TestClock
from soap_support import Nav, fault

from erp_sync.sandbox.soap import RunningSoapSandbox, SoapSandboxConfig, start_soap_in_thread

CUSTOMERS = 40
TODAY = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def soap_clock() -> TestClock:
    return TestClock(TODAY)


@pytest.fixture(scope="module")
def soap_sandbox(soap_clock: TestClock) -> Iterator[RunningSoapSandbox]:
    config = SoapSandboxConfig(customers=CUSTOMERS, items=12, seed=3, now=soap_clock.now, timezone="Europe/Athens")
    with start_soap_in_thread(config) as running:
        yield running


@pytest.fixture
def nav(soap_sandbox: RunningSoapSandbox) -> Iterator[Nav]:
    soap_sandbox.app.state.reset()
    client = Nav(soap_sandbox)
    yield client
    client.http.close()


def test_the_wsdl_needs_basic_auth_and_describes_the_record_and_its_operations(
        soap_sandbox: RunningSoapSandbox, nav: Nav) -> None:
    refused = httpx.get(soap_sandbox.page_url("Customer"), auth=("demo", "wrong"))
    served = nav.http.get(soap_sandbox.page_url("Customer"))
    assert refused.status_code == 401 and "Basic" in refused.headers["WWW-Authenticate"]
    root = etree.fromstring(served.content)
    xsd = "{http://www.w3.org/2001/XMLSchema}"
    record = root.find(f".//{xsd}complexType[@name='Customer']")
    assert record is not None
    fields = {e.get("name"): e.get("type") for e in record.iter(f"{xsd}element")}
    assert fields["Key"] == "xsd:string" and fields["Balance_LCY"] == "xsd:decimal"
    assert fields["Last_Date_Modified"] == "xsd:date" and fields["Blocked"] == "tns:Blocked"
    operations = {o.get("name") for o in root.iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert {"Read", "ReadMultiple", "Create", "Update", "Delete"} <= operations
    assert soap_sandbox.app.state.stats_view()["auth_failures"] == 1


def test_an_unknown_page_or_company_is_a_404(soap_sandbox: RunningSoapSandbox, nav: Nav) -> None:
    assert nav.http.get(soap_sandbox.page_url("Vendor")).status_code == 404
    assert nav.http.get(soap_sandbox.base_url + "/WS/OTHER/Page/Customer").status_code == 404


def test_bookmarks_page_through_every_record_once_in_number_order(soap_sandbox: RunningSoapSandbox,
                                                                   nav: Nav) -> None:
    rows = nav.read_all(size=7)
    expected = soap_sandbox.app.state.rows("Customer")
    assert [r["No"] for r in rows] == [r["No"] for r in expected] == sorted(r["No"] for r in expected)
    assert len(rows) == CUSTOMERS and any(not r["Name"].isascii() for r in rows)
    assert soap_sandbox.app.state.stats_view()["calls"]["ReadMultiple"] == CUSTOMERS // 7 + 2


def test_a_bookmark_whose_record_changed_meanwhile_still_marks_its_place(soap_sandbox: RunningSoapSandbox,
                                                                         nav: Nav) -> None:
    first = nav.read_multiple(size=5)
    soap_sandbox.app.state.patch_row("Customer", first[-1]["No"], {"City": "Λάρισα"})
    after = nav.read_multiple(bookmark=first[-1]["Key"], size=5)
    assert after[0]["No"] == soap_sandbox.app.state.rows("Customer")[5]["No"]


@pytest.mark.parametrize(("criteria", "field"), [("<>All", "Blocked"), ("C00001*", "No"),
                                                  ("C000003|C000017", "No"), ("C000005..C000009", "No"),
                                                  ("1000..5000", "Credit_Limit_LCY"), ("@ΑΘΉΝΑ|βόλος", "City")])
def test_filters_use_nav_criteria(soap_sandbox: RunningSoapSandbox, nav: Nav, criteria: str, field: str) -> None:
    from erp_sync.sandbox.soap.criteria import parse

    xsd = "decimal" if field == "Credit_Limit_LCY" else "string"
    test = parse(criteria, xsd)
    expected = [r["No"] for r in soap_sandbox.app.state.rows("Customer") if test(r[field])]
    got = [r["No"] for r in nav.read_all([(field, criteria)], size=4)]
    assert got == expected and 0 < len(got) < CUSTOMERS


def test_a_date_range_filter_reads_only_records_modified_inside_it(soap_sandbox: RunningSoapSandbox,
                                                                   nav: Nav) -> None:
    state = soap_sandbox.app.state
    state.patch_row("Customer", "C000004", {"Name": "Αλλαγή"})
    state.patch_row("Customer", "C000011", {"Last_Date_Modified": "2026-03-09"})
    rows = nav.read_all([("Last_Date_Modified", "2026-03-11..")])
    assert [r["No"] for r in rows] == ["C000004"]
    assert rows[0]["Last_Date_Modified"] == "2026-03-11"  # the server's date: 23:30 UTC is past midnight in Athens


def test_a_filter_on_an_unknown_field_is_a_fault(nav: Nav) -> None:
    answer = fault(nav.post("ReadMultiple", "<filter><Field>Colour</Field><Criteria>x</Criteria></filter>"
                                            "<setSize>5</setSize>"))
    assert answer["status"] == 500 and "ServiceBrokerException" in answer["code"]


def test_update_with_the_current_key_changes_only_the_fields_sent_and_gives_a_new_key(
        soap_sandbox: RunningSoapSandbox, nav: Nav) -> None:
    before = soap_sandbox.app.state.row("Customer", "C000002")
    assert before is not None
    [after] = nav.records(nav.write("Update", {"Key": before["Key"], "E_Mail": "νέο@example.gr"}))
    assert after["E_Mail"] == "νέο@example.gr" and after["Name"] == before["Name"]
    assert after["Key"] != before["Key"] and after["Last_Date_Modified"] == "2026-03-11"
    assert soap_sandbox.app.state.row("Customer", "C000002") == {**before, "E_Mail": "νέο@example.gr",
                                                                 "Key": after["Key"],
                                                                 "Last_Date_Modified": "2026-03-11"}
    stale = fault(nav.write("Update", {"Key": before["Key"], "Name": "x"}))
    assert "NavNCLRecordChangedException" in stale["code"] and "Another user has modified" in stale["message"]


def test_update_refuses_a_flowfield_and_a_missing_record(soap_sandbox: RunningSoapSandbox, nav: Nav) -> None:
    row = soap_sandbox.app.state.row("Customer", "C000003")
    assert row is not None
    flowfield = fault(nav.write("Update", {"Key": row["Key"], "Balance_LCY": "1"}))
    assert "NavCSideException" in flowfield["code"] and "Balance (LCY)" in flowfield["message"]
    soap_sandbox.app.state.delete_row("Customer", "C000003")
    gone = fault(nav.write("Update", {"Key": row["Key"], "Name": "x"}))
    assert "RecordNotFound" in gone["code"] and "C000003" in gone["message"]
    assert soap_sandbox.app.state.row("Customer", "C000003") is None


def test_create_numbers_a_new_record_and_refuses_a_duplicate_number(soap_sandbox: RunningSoapSandbox,
                                                                     nav: Nav) -> None:
    [made] = nav.records(nav.write("Create", {"Name": "Νέος Πελάτης Ο.Ε.", "City": "Βόλος"}))
    assert made["No"] == f"C{CUSTOMERS + 1:06d}" and made["Key"] and made["Blocked"] == "_blank_"
    [named] = nav.records(nav.write("Create", {"No": "WEB-1", "Name": "Web"}))
    duplicate = fault(nav.write("Create", {"No": "WEB-1", "Name": "Web again"}))
    assert named["No"] == "WEB-1" and "already exists" in duplicate["message"]
    numbers = [r["No"] for r in nav.read_all()]
    assert numbers[-2:] == [made["No"], "WEB-1"] and len(numbers) == CUSTOMERS + 2
    assert [w["operation"] for w in soap_sandbox.app.state.write_log()] == ["Create", "Create", "Create"]


def test_delete_needs_the_current_key(soap_sandbox: RunningSoapSandbox, nav: Nav) -> None:
    row = soap_sandbox.app.state.row("Customer", "C000007")
    assert row is not None
    soap_sandbox.app.state.patch_row("Customer", "C000007", {"Phone_No": "2100000000"})
    assert "RecordChanged" in fault(nav.post("Delete", f"<Key>{row['Key']}</Key>"))["code"]
    current = soap_sandbox.app.state.row("Customer", "C000007")
    assert current is not None
    assert nav.post("Delete", f"<Key>{current['Key']}</Key>").status_code == 200
    assert soap_sandbox.app.state.row("Customer", "C000007") is None


def test_the_item_page_has_its_own_fields_and_records(soap_sandbox: RunningSoapSandbox) -> None:
    items = Nav(soap_sandbox, "Item")
    rows = items.read_all(size=5)
    assert [r["No"] for r in rows] == [f"IT{k:06d}" for k in range(1, 13)]
    assert {"Description", "Unit_Price", "Inventory", "Blocked"} <= set(rows[0])


def test_a_wrong_password_is_a_401_without_a_fault(soap_sandbox: RunningSoapSandbox) -> None:
    soap_sandbox.app.state.reset()
    wrong = Nav(soap_sandbox, auth=("demo", "nope"))
    response = wrong.post("ReadMultiple", "<setSize>1</setSize>")
    assert response.status_code == 401 and b"Fault" not in response.content
    assert soap_sandbox.app.state.stats_view()["auth_failures"] == 1


def test_failing_mode_answers_503_and_slow_mode_delays(soap_sandbox: RunningSoapSandbox, nav: Nav) -> None:
    soap_sandbox.app.state.configure({"failing": True})
    assert nav.post("ReadMultiple", "<setSize>1</setSize>").status_code == 503
    soap_sandbox.app.state.configure({"failing": False, "slow_seconds": 0.3})
    started = time.monotonic()
    assert len(nav.read_multiple(size=1)) == 1
    assert time.monotonic() - started >= 0.3


def test_fault_switches_fire_on_the_nth_matching_call_then_disarm(soap_sandbox: RunningSoapSandbox,
                                                                  nav: Nav) -> None:
    soap_sandbox.app.state.set_faults({"fault_on_call": {"operation": "ReadMultiple", "n": 2, "kind": "permission",
                                                         "message": "You do not have permission"},
                                       "http_status_on_call": {"operation": "Update", "status": 502}})
    assert len(nav.read_multiple(size=2)) == 2
    denied = fault(nav.post("ReadMultiple", "<setSize>2</setSize>"))
    assert "NavPermissionException" in denied["code"]
    assert len(nav.read_multiple(size=2)) == 2
    assert nav.write("Update", {"Key": "x"}).status_code == 502
    assert soap_sandbox.app.state.stats_view()["faults_fired"] == {"fault_on_call": 1, "http_status_on_call": 1}


def test_legacy_encoding_and_gzip_keep_greek_text(soap_sandbox: RunningSoapSandbox, nav: Nav) -> None:
    soap_sandbox.app.state.configure({"legacy_encoding": True, "gzip": True})
    response = nav.post("ReadMultiple", "<setSize>40</setSize>")
    assert response.headers["Content-Encoding"] == "gzip" and "windows-1253" in response.headers["Content-Type"]
    assert [r["Name"] for r in nav.records(response)] == [r["Name"] for r in soap_sandbox.app.state.rows("Customer")]


def test_wsse_mode_reads_a_username_token_and_publishes_the_wsdl_openly() -> None:
    with start_soap_in_thread(SoapSandboxConfig(customers=3, auth="wsse")) as running:
        anonymous = Nav(running, auth=("", ""))
        assert httpx.get(running.page_url("Customer")).status_code == 200
        wsse = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
        token = (f'<wsse:Security xmlns:wsse="{wsse}"><wsse:UsernameToken><wsse:Username>demo</wsse:Username>'
                 "<wsse:Password>{}</wsse:Password></wsse:UsernameToken></wsse:Security>")
        assert anonymous.post("ReadMultiple", "<setSize>5</setSize>", token.format("bad")).status_code == 401
        assert len(anonymous.records(anonymous.post("ReadMultiple", "<setSize>5</setSize>",
                                                    token.format("demo")))) == 3


def test_the_admin_surface_edits_records_and_lists_writes(soap_sandbox: RunningSoapSandbox, nav: Nav) -> None:
    admin = httpx.Client(base_url=soap_sandbox.admin_url + "/")
    patched = admin.patch("rows/Customer/C000001", json={"Name": "Από τον διαχειριστή"}).json()
    created = admin.post("rows/Customer", json={"Name": "Admin row", "Balance_LCY": "12.50"}).json()
    assert admin.get(f"rows/Customer/{created['No']}").json()["Balance_LCY"] == "12.50"
    assert patched["Name"] == "Από τον διαχειριστή" and patched["Key"].endswith(";2;")
    assert admin.post("rows/Customer/touch", json={"every": 10, "fields": {"City": "Πάτρα"}}).json() == {"touched": 5}
    assert admin.delete("rows/Customer/C000002").status_code == 200
    assert admin.get("rows/Customer/C000002").status_code == 404
    assert admin.patch("rows/Customer/C000001", json={"Colour": "x"}).status_code == 400
    assert admin.post("config", json={"failing": "yes"}).status_code == 400
    nav.write("Update", {"Key": patched["Key"], "Name": "x"})
    assert [w["fields"] for w in admin.get("writes").json()] == [{"Key": patched["Key"], "Name": "x"}]
    assert admin.get("stats").json()["rows"] == {"Customer": CUSTOMERS, "Item": 12}
    admin.close()
