"""The sandbox speaks SoftOne's envelope: login flows, error bodies, encodings and loose request keys."""

from __future__ import annotations

import gzip
import json
import re

import pytest
from sandbox_support import S1, TestClock, decode_body


def test_ping_answers_plain_text(s1: S1) -> None:
    response = s1.http.get(s1.sandbox.url + "?ping")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("Ping from Softone WebModule")


def test_two_step_login_then_authenticate_gives_a_new_final_client_id(s1: S1) -> None:
    login = s1.send({"service": "login", "username": "demo", "password": "demo", "appId": "1001"})
    assert login["success"] is True
    temporary = login["clientID"]
    assert len(temporary) > 60 and "%2b" in temporary
    assert login["objs"][0] | {"COMPANY": "1000", "BRANCH": "1000", "MODULE": "0", "REFID": "1"} == login["objs"][0]
    assert all(isinstance(v, str) for v in login["objs"][0].values())
    assert login["appid"] == "1001" and "ver" in login and "sn" in login

    auth = s1.send(
        {"service": "authenticate", "clientID": temporary, "COMPANY": 1000, "BRANCH": "1000", "MODULE": 0, "REFID": 1}
    )
    assert auth["success"] is True
    assert auth["clientID"] != temporary
    assert {"s1u", "hyperlinks", "canexport", "companyinfo"} <= auth.keys()

    again = s1.send({"service": "authenticate", "clientID": temporary, "COMPANY": "1000", "BRANCH": "1000"})
    assert again == {"success": False, "errorcode": -1, "error": "Invalid request. Please login first"}
    s1.client_id = auth["clientID"]
    assert s1.call("getObjects")["success"] is True


def test_one_step_login_returns_the_final_client_id_without_objs(s1: S1) -> None:
    client_id = s1.login()
    assert "%2b" in client_id
    assert s1.call("getObjects")["count"] >= 3


def test_bad_password_answers_minus_1_with_the_login_text(s1: S1) -> None:
    body = s1.send({"service": "login", "username": "demo", "password": "nope", "appId": "1001"})
    assert body == {"success": False, "errorcode": -1, "error": "Login fails due to invalid login credentials."}


def test_wrong_company_at_authenticate_answers_minus_2(s1: S1) -> None:
    temporary = s1.send({"service": "login", "username": "demo", "password": "demo", "appId": 1001})["clientID"]
    body = s1.send(
        {
            "service": "authenticate",
            "clientID": temporary,
            "COMPANY": "2000",
            "BRANCH": "1000",
            "MODULE": "0",
            "REFID": "1",
        }
    )
    assert body["success"] is False and body["errorcode"] == -2


def test_unknown_or_missing_client_id_answers_minus_1(s1: S1) -> None:
    s1.client_id = "not-a-session"
    assert s1.call("getObjects")["errorcode"] == -1
    assert s1.send({"service": "getObjects", "appId": "1001"})["errorcode"] == -1


def test_a_different_app_id_answers_minus_6(logged_in: S1) -> None:
    body = logged_in.send({"service": "getObjects", "clientID": logged_in.client_id, "appId": "2002"})
    assert body["success"] is False and body["errorcode"] == -6


def test_an_idle_session_expires_with_minus_101(logged_in: S1, clock: TestClock) -> None:
    assert logged_in.call("getObjects")["success"] is True
    clock.advance(seconds=1201)
    body = logged_in.call("getObjects")
    assert body == {"success": False, "errorcode": -101, "error": "Invalid Request, session has expired!"}
    assert logged_in.call("getObjects")["errorcode"] == -101


def test_a_session_call_budget_expires_it_with_minus_101(logged_in: S1) -> None:
    assert logged_in.admin("POST", "/config", {"session_max_calls": 2}).status_code == 200
    assert logged_in.call("getObjects")["success"] is True
    assert logged_in.call("getObjects")["success"] is True
    assert logged_in.call("getObjects")["errorcode"] == -101
    logged_in.login()
    assert logged_in.call("getObjects")["success"] is True


def test_admin_expire_makes_every_session_answer_minus_101(logged_in: S1) -> None:
    assert logged_in.admin("POST", "/sessions/expire").json() == {"expired": 1}
    assert logged_in.call("getObjects")["errorcode"] == -101


def test_unknown_service_answers_minus_12(logged_in: S1) -> None:
    assert logged_in.call("fetchEverything") == {
        "success": False,
        "errorcode": -12,
        "error": "Invalid Web Service call.",
    }


def test_service_names_and_request_keys_are_case_insensitive(logged_in: S1) -> None:
    body = logged_in.send(
        {
            "SERVICE": "GETBROWSERINFO",
            "CLIENTID": logged_in.client_id,
            "APPID": 1001,
            "object": "customer",
            "list": "",
            "filters": "customer.code=C000003",
        }
    )
    assert body["success"] is True and body["totalcount"] == 1
    page = logged_in.send(
        {
            "Service": "getbrowserdata",
            "clientId": logged_in.client_id,
            "AppID": "1001",
            "reqid": body["reqID"],
            "start": 0,
            "limit": 5,
        }
    )
    assert page["rows"][0][0] == "CUSTOMER;3"


def test_get_with_a_json_body_works_like_post(logged_in: S1) -> None:
    body = logged_in.send(
        {
            "service": "getData",
            "clientID": logged_in.client_id,
            "appId": "1001",
            "OBJECT": "CUSTOMER",
            "KEY": "4",
            "LOCATEINFO": "CUSTOMER:CODE",
        },
        method="GET",
    )
    assert body["data"] == {"CUSTOMER": [{"CODE": "C000004"}]}


def test_bodies_are_cp1253_without_charset_and_greek_survives(logged_in: S1) -> None:
    response = logged_in.raw({"service": "getObjects", "clientID": logged_in.client_id, "appId": "1001"})
    assert response.headers["content-type"] == "application/json"
    assert "content-encoding" not in response.headers
    raw = response.content if response.content[:2] != b"\x1f\x8b" else gzip.decompress(response.content)
    assert "Πελάτες".encode("cp1253") in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert any(o["caption"] == "Πελάτες" for o in decode_body(response.content)["objects"])


def test_every_third_response_is_gzipped_with_no_content_encoding_header(s1: S1) -> None:
    responses = [s1.http.request("POST", s1.sandbox.url, content=b'{"service": "getObjects"}') for _ in range(6)]
    gzipped = [r.content[:2] == b"\x1f\x8b" for r in responses]
    assert gzipped == [False, False, True, False, False, True]
    assert all("content-encoding" not in r.headers for r in responses)
    assert decode_body(responses[2].content)["errorcode"] == -1


def test_raw_tabs_make_strict_json_fail_but_lenient_parsing_works(logged_in: S1) -> None:
    response = logged_in.raw(
        {
            "service": "getData",
            "clientID": logged_in.client_id,
            "appId": "1001",
            "OBJECT": "CUSTOMER",
            "KEY": 7,
            "LOCATEINFO": "CUSTOMER:REMARKS",
        }
    )
    raw = response.content if response.content[:2] != b"\x1f\x8b" else gzip.decompress(response.content)
    assert b"\t" in raw
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw.decode("cp1253"))
    assert "\t" in decode_body(response.content)["data"]["CUSTOMER"][0]["REMARKS"]
    info = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="", FILTERS="CUSTOMER.TRDR=7")
    page = logged_in.raw(
        {
            "service": "getBrowserData",
            "clientID": logged_in.client_id,
            "appId": "1001",
            "reqID": info["reqID"],
            "START": 0,
            "LIMIT": 1,
        }
    )
    raw = page.content if page.content[:2] != b"\x1f\x8b" else gzip.decompress(page.content)
    assert b"\t" in raw and "Τιμολόγηση".encode("cp1253") in raw
    assert decode_body(page.content)["rows"][0][11] == "Τιμολόγηση μηνιαία\tΑποστολή με courier"


def test_with_quirks_off_bodies_are_plain_utf8_json(logged_in: S1) -> None:
    logged_in.admin("POST", "/config", {"cp1253_bodies": False, "gzip_some": False, "raw_tabs": False})
    for _ in range(3):
        response = logged_in.raw(
            {"service": "getData", "clientID": logged_in.client_id, "appId": "1001", "OBJECT": "CUSTOMER", "KEY": 7}
        )
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        record = json.loads(response.content.decode("utf-8"))["data"]["CUSTOMER"][0]
        assert "\t" in record["REMARKS"]
    page = logged_in.browse(page_size=100)
    assert any(re.search("[α-ω]", row[3]) for row in page)


def test_data_values_are_strings_and_dates_look_like_softone_dates(logged_in: S1) -> None:
    record = logged_in.call("getData", OBJECT="CUSTOMER", KEY="10")["data"]["CUSTOMER"][0]
    assert all(isinstance(v, str) for v in record.values())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", record["UPDDATE"])
    item = logged_in.call("getData", OBJECT="ITEM", KEY=3)["data"]["ITEM"][0]
    assert re.fullmatch(r"\d+\.\d{2}", item["PRICER"])


def test_discovery_describes_objects_tables_and_fields(logged_in: S1) -> None:
    objects = {o["name"]: o for o in logged_in.call("getObjects")["objects"]}
    assert objects["CUSTOMER"]["type"] == "EditMaster" and "SALDOC" in objects
    tables = logged_in.call("getObjectTables", OBJECT="CUSTOMER")["tables"]
    assert tables[0] == {"name": "CUSTOMER", "dbname": "TRDR", "caption": "Πελάτες", "filltype": "SQL"}
    fields = {f["name"]: f for f in logged_in.call("getTableFields", OBJECT="CUSTOMER", TABLE="TRDR")["fields"]}
    assert fields["CODE"]["fullname"] == "CUSTOMER.CODE" and fields["CODE"]["size"] == "25"
    assert fields["UPDDATE"]["type"] == "DateTime"
    assert logged_in.call("getObjectTables", OBJECT="NOPE")["errorcode"] == -9
