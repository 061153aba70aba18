"""Record services: getData, setData (insert, update, business errors), delData, selectorFields."""

from __future__ import annotations

from sandbox_support import CUSTOMERS, S1, TestClock


def test_get_data_returns_tables_as_lists_of_row_objects(logged_in: S1) -> None:
    locate = "CUSTOMER:CODE,NAME;CUSEXTRA:VARCHAR01"
    body = logged_in.call("getData", OBJECT="CUSTOMER", FORM="", KEY=5, LOCATEINFO=locate)
    assert body["success"] is True and body["readOnly"] is False
    assert list(body["data"]) == ["CUSTOMER", "CUSEXTRA"]
    record = body["data"]["CUSTOMER"]
    assert len(record) == 1 and list(record[0]) == ["CODE", "NAME"] and record[0]["CODE"] == "C000005"
    full = logged_in.call("getData", OBJECT="CUSTOMER", KEY="5")["data"]["CUSTOMER"][0]
    assert full["TRDR"] == "5" and full["SODTYPE"] == "13" and full["COMPANY"] == "1000"


def test_get_data_of_an_unknown_key_answers_2001(logged_in: S1) -> None:
    body = logged_in.call("getData", OBJECT="CUSTOMER", KEY=999999)
    assert body == {"success": False, "errorcode": 2001, "error": "Invalid request, Data does not exist."}


def test_set_data_without_key_inserts_and_returns_the_new_id_as_a_string(logged_in: S1) -> None:
    body = logged_in.call(
        "setData",
        OBJECT="CUSTOMER",
        KEY="",
        data={"customer": [{"name": "Ζαχαροπλαστεία Ωμέγα Ο.Ε.", "EMAIL": "info@omega.gr", "ISACTIVE": 1}]},
    )
    assert body == {"success": True, "id": str(CUSTOMERS + 1)}
    record = logged_in.call("getData", OBJECT="CUSTOMER", KEY=body["id"])["data"]["CUSTOMER"][0]
    assert record["NAME"] == "Ζαχαροπλαστεία Ωμέγα Ο.Ε." and record["ISACTIVE"] == "1"
    assert record["CODE"] == f"C{CUSTOMERS + 1:06d}"
    assert record["INSDATE"] == record["UPDDATE"] == "2025-03-10 10:00:00"


def test_set_data_with_key_changes_only_the_fields_sent_and_bumps_upddate(logged_in: S1, clock: TestClock) -> None:
    before = logged_in.call("getData", OBJECT="CUSTOMER", KEY=9)["data"]["CUSTOMER"][0]
    clock.advance(minutes=5)
    body = logged_in.call(
        "setData", OBJECT="CUSTOMER", KEY=9, data={"CUSTOMER": [{"PHONE01": "2100000000", "UPDDATE": "2000-01-01"}]}
    )
    assert body == {"success": True, "id": "9"}
    after = logged_in.call("getData", OBJECT="CUSTOMER", KEY=9)["data"]["CUSTOMER"][0]
    assert after == before | {"PHONE01": "2100000000", "UPDDATE": "2025-03-10 10:05:00"}


def test_set_data_with_an_unknown_field_is_a_business_error(logged_in: S1) -> None:
    body = logged_in.call("setData", OBJECT="CUSTOMER", KEY=9, data={"CUSTOMER": [{"SHOESIZE": "44"}]})
    assert body["success"] is False and body["errorcode"] == 0
    assert body["error"].startswith("S1:ESoftOneError:") and "SHOESIZE" in body["error"]


def test_set_data_refuses_a_duplicate_code_and_an_insert_without_name(logged_in: S1) -> None:
    duplicate = logged_in.call("setData", OBJECT="CUSTOMER", data={"CUSTOMER": [{"CODE": "c000003", "NAME": "X"}]})
    assert duplicate["success"] is False and "C000003" in duplicate["error"].upper()
    nameless = logged_in.call("setData", OBJECT="ITEM", data={"ITEM": [{"PRICER": 12.5}]})
    assert nameless["success"] is False and nameless["error"].startswith("S1:ESoftOneError:")
    assert logged_in.admin("GET", "/stats").json()["rows"]["CUSTOMER"] == CUSTOMERS


def test_set_data_with_an_unknown_key_answers_2001(logged_in: S1) -> None:
    assert (
        logged_in.call("setData", OBJECT="CUSTOMER", KEY=424242, data={"CUSTOMER": [{"NAME": "X"}]})["errorcode"]
        == 2001
    )


def test_del_data_removes_the_record(logged_in: S1) -> None:
    assert logged_in.call("delData", OBJECT="CUSTOMER", FORM="", KEY="8") == {"success": True}
    assert logged_in.call("getData", OBJECT="CUSTOMER", KEY=8)["errorcode"] == 2001
    assert "CUSTOMER;8" not in [r[0] for r in logged_in.browse()]
    assert logged_in.call("delData", OBJECT="CUSTOMER", KEY="8")["errorcode"] == 2001


def test_selector_fields_looks_up_by_key_or_by_code(logged_in: S1) -> None:
    by_key = logged_in.call(
        "selectorFields", TABLENAME="CUSTOMER", KEYNAME="TRDR", KEYVALUE=47, RESULTFIELDS="CODE,NAME,AFM"
    )
    assert by_key["totalcount"] == 1 and list(by_key["rows"][0]) == ["CODE", "NAME", "AFM"]
    by_code = logged_in.call(
        "selectorFields", TABLENAME="TRDR", KEYNAME="CODE", KEYVALUE="C000047", RESULTFIELDS="TRDR"
    )
    assert by_code["rows"] == [{"TRDR": "47"}]


def test_the_setdata_log_records_requests_and_outcomes_with_passwords_redacted(logged_in: S1) -> None:
    logged_in.call("setData", OBJECT="ITEM", data={"ITEM": [{"NAME": "Νέο είδος", "PRICER": "3.10"}]})
    logged_in.call("setData", OBJECT="ITEM", KEY=2, data={"ITEM": [{"NAME": "Y", "password": "hunter2"}]})
    log = logged_in.admin("GET", "/setdata-log").json()
    assert [(e["object"], e["key"], e["success"]) for e in log] == [("ITEM", "", True), ("ITEM", "2", False)]
    assert log[0]["id"] == "21" and log[0]["data"] == {"ITEM": [{"NAME": "Νέο είδος", "PRICER": "3.10"}]}
    assert log[1]["data"]["ITEM"][0]["password"] == "***" and "hunter2" not in str(log)
