"""Fault switches: each fires as armed, then disarms so a retry succeeds."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
from sandbox_support import S1


def _arm(s1: S1, faults: dict) -> dict:
    response = s1.admin("POST", "/faults", faults)
    assert response.status_code == 200, response.text
    return response.json()


def test_http_500_on_the_nth_call_then_normal_again(logged_in: S1) -> None:
    _arm(logged_in, {"http_500_on_call": 2})
    assert logged_in.call("getObjects")["success"] is True
    failed = logged_in.raw({"service": "getObjects", "clientID": logged_in.client_id, "appId": "1001"})
    assert failed.status_code == 500 and failed.headers["content-type"] == "text/html"
    assert "500 - Internal server error." in failed.text
    assert logged_in.call("getObjects")["success"] is True


def test_html_error_page_from_a_proxy_with_http_502(logged_in: S1) -> None:
    _arm(logged_in, {"html_error_on_call": {"n": 1, "service": "getBrowserInfo"}})
    assert logged_in.call("getObjects")["success"] is True  # other services do not count
    failed = logged_in.raw({"service": "getBrowserInfo", "clientID": logged_in.client_id, "OBJECT": "ITEM"})
    assert failed.status_code == 502 and failed.text.startswith("<!DOCTYPE html>")
    assert logged_in.call("getBrowserInfo", OBJECT="ITEM", LIST="")["success"] is True


def test_drop_connection_gives_the_client_a_transport_error(logged_in: S1) -> None:
    _arm(logged_in, {"drop_connection_on_call": 1})
    with pytest.raises(httpx.TransportError):
        logged_in.call("getObjects")
    assert logged_in.call("getObjects")["success"] is True
    assert logged_in.admin("GET", "/stats").json()["faults_fired"] == {"drop_connection_on_call": 1}


def test_fail_on_call_answers_success_false_with_the_given_code(logged_in: S1) -> None:
    _arm(
        logged_in,
        {"fail_on_call": {"n": 2, "errorcode": 213, "error": 'Invalid request, "reqID" expired.', "times": 2}},
    )
    assert logged_in.call("getObjects")["success"] is True
    assert [logged_in.call("getObjects").get("errorcode") for _ in range(3)] == [213, 213, None]
    default = _arm(logged_in, {"fail_on_call": 1})["fail_on_call"]
    assert default["errorcode"] == -101
    assert logged_in.call("getObjects")["errorcode"] == -101


def test_slow_page_delays_only_the_chosen_page(logged_in: S1) -> None:
    _arm(logged_in, {"slow_page_seconds": {"seconds": 0.4, "start": 20}})
    info = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="")
    timings = {}
    for start in (0, 20, 40):
        began = time.perf_counter()
        assert logged_in.call("getBrowserData", reqID=info["reqID"], START=start, LIMIT=20)["success"] is True
        timings[start] = time.perf_counter() - began
    assert timings[20] >= 0.4 and timings[0] < 0.3 and timings[40] < 0.3


def test_short_row_on_page_breaks_one_page_only(logged_in: S1) -> None:
    _arm(logged_in, {"short_row_on_page": 2})
    info = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="")
    pages = [logged_in.call("getBrowserData", reqID=info["reqID"], START=s, LIMIT=10)["rows"] for s in (0, 10, 20)]
    assert [len(p[0]) for p in pages] == [14, 13, 14]
    assert all(len(row) == 14 for page in pages for row in page[1:])


def test_setdata_business_error_for_matching_rows_stays_armed_until_cleared(logged_in: S1) -> None:
    _arm(
        logged_in, {"setdata_business_error": {"match": {"NAME": "Κακός Πελάτης"}, "error": "Ο ΑΦΜ δεν είναι έγκυρος."}}
    )
    bad = {"CUSTOMER": [{"NAME": "Κακός Πελάτης", "AFM": "123"}]}
    for _ in range(2):
        body = logged_in.call("setData", OBJECT="CUSTOMER", data=bad)
        assert body == {"success": False, "errorcode": 0, "error": "S1:ESoftOneError: Ο ΑΦΜ δεν είναι έγκυρος."}
    assert logged_in.call("setData", OBJECT="CUSTOMER", data={"CUSTOMER": [{"NAME": "Καλός"}]})["success"] is True
    assert _arm(logged_in, {"setdata_business_error": None}) == {}
    assert logged_in.call("setData", OBJECT="CUSTOMER", data=bad)["success"] is True


def test_setdata_business_error_by_key_and_one_shot_default(logged_in: S1) -> None:
    _arm(logged_in, {"setdata_business_error": {"keys": ["4"]}})
    assert logged_in.call("setData", OBJECT="CUSTOMER", KEY=3, data={"CUSTOMER": [{"ZIP": "1"}]})["success"]
    assert logged_in.call("setData", OBJECT="CUSTOMER", KEY=4, data={"CUSTOMER": [{"ZIP": "1"}]})["success"] is False
    _arm(logged_in, {"clear": True, "setdata_business_error": True})
    assert logged_in.call("setData", OBJECT="CUSTOMER", KEY=3, data={"CUSTOMER": [{"ZIP": "2"}]})["success"] is False
    assert logged_in.call("setData", OBJECT="CUSTOMER", KEY=3, data={"CUSTOMER": [{"ZIP": "2"}]})["success"] is True


def test_bad_fault_payloads_are_refused_and_faults_can_be_listed_and_cleared(logged_in: S1) -> None:
    assert logged_in.admin("POST", "/faults", {"explode_on_call": 1}).status_code == 400
    assert logged_in.admin("POST", "/faults", {"http_500_on_call": "soon"}).status_code == 400
    _arm(logged_in, {"http_500_on_call": 5, "short_row_on_page": 1})
    assert set(logged_in.admin("GET", "/faults").json()) == {"http_500_on_call", "short_row_on_page"}
    assert logged_in.admin("DELETE", "/faults").json() == {}


def test_truncated_gzip_declares_gzip_and_sends_half_a_stream_then_normal_again(logged_in: S1) -> None:
    _arm(logged_in, {"truncated_gzip_on_call": {"n": 1, "service": "getObjects"}})
    body = {"service": "getObjects", "clientID": logged_in.client_id, "appId": "1001"}
    with logged_in.http.stream("POST", logged_in.sandbox.url, content=json.dumps(body).encode()) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-encoding"] == "gzip" and int(response.headers["content-length"]) == len(raw)
    assert raw[:2] == b"\x1f\x8b"
    with pytest.raises(EOFError):
        gzip.decompress(raw)
    assert logged_in.call("getObjects")["success"] is True


def test_a_login_past_the_licensed_sessions_is_refused_with_minus_5_until_one_expires(s1: S1) -> None:
    assert s1.admin("POST", "/config", {"max_sessions": 1}).status_code == 200
    s1.login()
    second = S1(s1.sandbox)
    with pytest.raises(AssertionError, match="Web Services Licenses Exceeded"):
        second.login()
    assert second.send({"service": "login", "username": "demo", "password": "demo", "appId": 1001})["errorcode"] == -5
    assert s1.call("getObjects")["success"] is True  # the session holding the licence works on
    s1.sandbox.app.state.expire_sessions()
    assert second.login()
    second.http.close()
