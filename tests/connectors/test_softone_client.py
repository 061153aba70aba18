"""The SoftOne client, session and paginator against a scripted loopback peer that answers with exact bytes.

These are the cases the sandbox cannot produce on demand: every body encoding, every error code, dropped
connections, timeouts, proxy pages, malformed rows, concurrent logins and an insert that was saved although the
answer never arrived.
"""

from __future__ import annotations

import gzip
import json
import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from connectors.peer import CLIENT_ID, FINAL_CLIENT_ID, PASSWORD, Reply, ScriptedServer, failure, fast_config, ok

from erp_sync.clock import FrozenClock
from erp_sync.connectors.base import (
    AccountProblemError,
    BadCredentialsError,
    BadResponseError,
    ConnectorError,
    ErpTimeoutError,
    FatalConnectorError,
    PagingLoopError,
    PushRequest,
    Query,
    RetriableConnectorError,
    SkippableConnectorError,
    Window,
)
from erp_sync.connectors.softone import SessionPool, SoftOneConfig, SoftOneConnector
from erp_sync.connectors.softone.browser import AHEAD, BrowserPaginator
from erp_sync.connectors.softone.client import SoftOneClient
from erp_sync.connectors.softone.codes import ReqIdLostError, SessionExpiredError
from erp_sync.errors import CODES, ValidationError

GREEK = "Πελάτης Αθηνών\tΘεσσαλονίκη €"
FIELDS = [{"name": "ZOOMINFO", "type": "string"}, {"name": "CUSTOMER.CODE", "type": "string"},
          {"name": "CUSTOMER.NAME", "type": "string"}]


def client_for(server: ScriptedServer, **overrides: Any) -> SoftOneClient:
    return SoftOneClient(fast_config(server.url, **overrides), sleep=lambda _: None)


def serve_browser(server: ScriptedServer, total: int, *, page_hook: Any = None) -> None:
    """A browser of `total` customers; `page_hook(request)` may replace a getBrowserData answer."""

    def rows(start: int, limit: int) -> list[list[str]]:
        return [[f"CUSTOMER;{k}", f"C{k:03d}", f"Πελάτης {k}"] for k in range(start + 1, min(start + limit, total) + 1)]

    def data(req: dict[str, Any]) -> Reply | dict[str, Any]:
        answer = page_hook(req) if page_hook else None
        return answer if answer is not None else ok(totalcount=total, rows=rows(req["START"], req["LIMIT"]))

    server.routes["getbrowserinfo"] = lambda req: ok(reqID="0018374974105073328", totalcount=total, fields=FIELDS)
    server.routes["getbrowserdata"] = data


# --- decoding --------------------------------------------------------------------------------------------------

DECODINGS = {
    "declared windows-1253": Reply(ok(name=GREEK), encoding="cp1253",
                                   headers={"Content-Type": "application/json; charset=windows-1253"}),
    "declared utf-8": Reply(ok(name=GREEK), headers={"Content-Type": "application/json; charset=utf-8"}),
    "undeclared utf-8": Reply(ok(name=GREEK)),
    "undeclared cp1253": Reply(ok(name=GREEK), encoding="cp1253"),
    "gzip with its header": Reply(gzip.compress(json.dumps(ok(name=GREEK), ensure_ascii=False).encode("cp1253")),
                                  headers={"Content-Encoding": "gzip"}),
    "gzip without a header": Reply(gzip.compress(json.dumps(ok(name=GREEK), ensure_ascii=False).encode("cp1253"))),
    "raw TAB inside a string": Reply('{"success" : true, "name" : "' + GREEK + '"}', encoding="cp1253"),
    "raw TABs inside a string and between tokens": Reply('{"success":\ttrue,\t"name":"' + GREEK + '"}'),
    "raw TAB and another raw control character": Reply('{"success": true, "name": "' + GREEK + '", "x": "a\x01b"}'),
}


@pytest.mark.parametrize("reply", DECODINGS.values(), ids=DECODINGS.keys())
def test_every_body_encoding_decodes_to_the_same_greek_text(scripted: ScriptedServer, reply: Reply) -> None:
    scripted.routes["getobjects"] = lambda req: reply
    assert client_for(scripted).call("getObjects")["name"] == GREEK


def test_requests_are_ascii_only_json_with_unicode_escapes(scripted: ScriptedServer) -> None:
    scripted.routes["setdata"] = lambda req: ok(id="7")
    client_for(scripted).call("setData", OBJECT="CUSTOMER", data={"CUSTOMER": [{"NAME": "Αθήνα"}]})
    raw = scripted.raw[-1]
    assert raw.isascii()
    assert b"\\u0391\\u03b8\\u03ae\\u03bd\\u03b1" in raw
    assert scripted.calls("setData")[0]["data"] == {"CUSTOMER": [{"NAME": "Αθήνα"}]}


# --- classification --------------------------------------------------------------------------------------------

CLASSIFICATION = [
    ("login", -1, "Login fails due to invalid login credentials.", BadCredentialsError, "ERP_BAD_CREDENTIALS"),
    ("getObjects", -1, "Invalid request. Please login first", SessionExpiredError, "ERP_SESSION_EXPIRED"),
    ("login", -2, "Authenticate fails due to invalid credentials.", BadCredentialsError, "ERP_BAD_CREDENTIALS"),
    ("getBrowserData", -101, "Invalid Request, session has expired!", SessionExpiredError, "ERP_SESSION_EXPIRED"),
    ("getObjects", -100, "Invalid Request, session has expired!", SessionExpiredError, "ERP_SESSION_EXPIRED"),
    ("getObjects", -6, "Invalid AppId.", SessionExpiredError, "ERP_SESSION_EXPIRED"),
    ("getBrowserData", 13, 'Invalid request, "reqID" expired.', ReqIdLostError, "ERP_PAGING_LOST"),
    ("getBrowserData", 213, 'Invalid request, "reqID" expired.', ReqIdLostError, "ERP_PAGING_LOST"),
    ("getBrowserData", 102, '"ReqId" not found on Server!', ReqIdLostError, "ERP_PAGING_LOST"),
    ("login", -5, "Web Services Licenses Exceeded!", AccountProblemError, "ERP_ACCOUNT_PROBLEM"),
    ("login", -3, "Access denied. Selected module not activated!", AccountProblemError, "ERP_ACCOUNT_PROBLEM"),
    ("getObjects", -7, "Session has expired", AccountProblemError, "ERP_ACCOUNT_PROBLEM"),
    ("login", -8, "Invalid request. User account is not active!", AccountProblemError, "ERP_ACCOUNT_PROBLEM"),
    ("login", -10, "Login fails. Username contains illegal characters.", BadCredentialsError,
     "ERP_BAD_CREDENTIALS"),
    ("setData", 0, "S1:ESoftOneError: Ο κωδικός υπάρχει ήδη", SkippableConnectorError, "ERP_BUSINESS_ERROR"),
    ("setData", 4711, "Το πεδίο ΑΦΜ είναι υποχρεωτικό", SkippableConnectorError, "ERP_BUSINESS_ERROR"),
    ("getObjects", None, "Invalid request. Please login first", SessionExpiredError, "ERP_SESSION_EXPIRED"),
    ("GetTable", -12, "Invalid Web Service call.", FatalConnectorError, "ERP_NOT_SUPPORTED"),
    ("getData", 2001, "Invalid request, Data does not exist.", FatalConnectorError, "ERP_ERROR"),
]


@pytest.mark.parametrize(("service", "code", "message", "error_type", "error_code"), CLASSIFICATION,
                         ids=[f"{c[0]}{c[1]}" for c in CLASSIFICATION])
def test_failure_bodies_raise_the_error_their_code_and_service_mean(
        scripted: ScriptedServer, service: str, code: int | None, message: str, error_type: type[ConnectorError],
        error_code: str) -> None:
    body = failure(code, message) if code is not None else {"success": False, "error": message}
    scripted.routes[service.lower()] = lambda req: body
    with pytest.raises(ConnectorError) as caught:
        client_for(scripted).call(service)
    assert type(caught.value) is error_type
    assert caught.value.code == error_code and error_code in CODES
    assert caught.value.erp_code == code
    assert message in caught.value.message
    next_step = {"ERP_BAD_CREDENTIALS": "check the integration's connection.username and connection.password",
                 "ERP_ACCOUNT_PROBLEM": "needs the SoftOne administrator's attention",
                 "ERP_NOT_SUPPORTED": "check source.mode and source.object"}.get(error_code)
    assert next_step is None or next_step in caught.value.message
    assert len(scripted.requests) == 1


# --- transport -------------------------------------------------------------------------------------------------

def test_http_503_twice_is_retried_until_the_answer_arrives(scripted: ScriptedServer) -> None:
    answers = iter([Reply(b"<html>busy</html>", status=503), Reply(b"", status=502), Reply(ok(count=3))])
    scripted.routes["getobjects"] = lambda req: next(answers)
    assert client_for(scripted).call("getObjects")["count"] == 3
    assert len(scripted.calls("getObjects")) == 3


def test_a_dropped_connection_is_retried_until_the_answer_arrives(scripted: ScriptedServer) -> None:
    answers = iter([Reply(drop=True), Reply(ok(count=5))])
    scripted.routes["getobjects"] = lambda req: next(answers)
    assert client_for(scripted).call("getObjects")["count"] == 5
    assert len(scripted.calls("getObjects")) == 2


def test_a_request_in_flight_when_the_client_closes_fails_once_without_retry_warnings(
        scripted: ScriptedServer, caplog: pytest.LogCaptureFixture) -> None:
    scripted.routes["getobjects"] = lambda req: Reply(ok(count=1), delay=0.5)
    client = client_for(scripted, max_retries=3)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.call("getObjects")
        except BaseException as exc:  # what the caller of a closed client sees
            outcome.append(exc)

    caller = threading.Thread(target=call)
    with caplog.at_level(logging.WARNING, logger="erp_sync"):
        caller.start()
        time.sleep(0.15)
        client.close()
        caller.join(5)
    assert not caller.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], RetriableConnectorError), outcome
    assert len(scripted.calls("getObjects")) == 1
    assert not [r for r in caplog.records if "attempt" in r.getMessage()]


TRUNCATED = gzip.compress(json.dumps(ok(name=GREEK)).encode())[:-20]  # the deflate stream never reaches its end
CUT_OFF = {"gzip with its header": Reply(TRUNCATED, headers={"Content-Encoding": "gzip"}),
           "gzip without a header": Reply(TRUNCATED)}


@pytest.mark.parametrize("cut", CUT_OFF.values(), ids=CUT_OFF.keys())
def test_a_gzip_body_cut_off_mid_stream_is_retried_like_a_dropped_connection(
        scripted: ScriptedServer, cut: Reply) -> None:
    answers = iter([cut, Reply(ok(count=5))])
    scripted.routes["getobjects"] = lambda req: next(answers)
    assert client_for(scripted).call("getObjects")["count"] == 5
    assert len(scripted.calls("getObjects")) == 2


@pytest.mark.parametrize("cut", CUT_OFF.values(), ids=CUT_OFF.keys())
def test_a_gzip_body_cut_off_on_every_attempt_is_erp_unavailable_naming_service_and_page(
        scripted: ScriptedServer, cut: Reply) -> None:
    scripted.routes["getbrowserdata"] = lambda req: cut
    with pytest.raises(RetriableConnectorError) as caught:
        client_for(scripted, max_retries=1).request("getBrowserData", {"START": 200}, page=3)
    assert caught.value.code == "ERP_UNAVAILABLE" and caught.value.page == 3
    assert "getBrowserData (page 3)" in caught.value.message and "cut off" in caught.value.message
    assert len(scripted.calls("getBrowserData")) == 2


def test_a_gzip_body_that_is_not_deflate_at_all_is_a_bad_response_not_retried(scripted: ScriptedServer) -> None:
    scripted.routes["getobjects"] = lambda req: Reply(b"\x1f\x8b\x08\x00" + b"\x00" * 6 + b"not deflate at all")
    with pytest.raises(BadResponseError) as caught:
        client_for(scripted).call("getObjects")
    assert "getObjects" in caught.value.message and "decompress" in caught.value.message
    assert len(scripted.requests) == 1


def test_persistent_5xx_gives_up_after_max_retries_as_erp_unavailable(scripted: ScriptedServer) -> None:
    scripted.routes["getobjects"] = lambda req: Reply(b"<h1>Service Unavailable</h1>", status=503)
    with pytest.raises(RetriableConnectorError) as caught:
        client_for(scripted, max_retries=3).call("getObjects")
    assert caught.value.code == "ERP_UNAVAILABLE" and "HTTP 503" in caught.value.message
    assert len(scripted.calls("getObjects")) == 4


def test_a_server_slower_than_the_timeout_ends_as_erp_timeout(scripted: ScriptedServer) -> None:
    scripted.routes["getobjects"] = lambda req: Reply(ok(), delay=0.4)
    with pytest.raises(ErpTimeoutError) as caught:
        client_for(scripted, timeout_seconds=0.15, max_retries=1).call("getObjects")
    assert caught.value.code == "ERP_TIMEOUT"
    assert len(scripted.calls("getObjects")) == 2
    assert f"SoftOne getObjects at {scripted.url}" in caught.value.message and "pageSize" not in caught.value.message


def test_a_page_that_times_out_names_the_page_and_the_page_size_to_lower(scripted: ScriptedServer) -> None:
    scripted.routes["getbrowserdata"] = lambda req: Reply(ok(rows=[]), delay=0.4)
    with pytest.raises(ErpTimeoutError) as caught:
        client_for(scripted, timeout_seconds=0.15, max_retries=0).request("getBrowserData", {"START": 200}, page=3)
    assert "getBrowserData (page 3)" in caught.value.message and caught.value.page == 3
    assert "a smaller source.pageSize" in caught.value.message


def test_malformed_json_on_http_200_is_a_bad_response_naming_the_service(scripted: ScriptedServer) -> None:
    scripted.routes["getobjecttables"] = lambda req: Reply(b'{"success": true, "tables": [')
    with pytest.raises(BadResponseError) as caught:
        client_for(scripted).call("getObjectTables", OBJECT="CUSTOMER")
    assert "getObjectTables" in caught.value.message
    assert len(scripted.requests) == 1


def test_an_html_proxy_page_mid_paging_is_retried_then_names_the_page(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    html = Reply(b"<html><title>502 Bad Gateway</title></html>", headers={"Content-Type": "text/html"})
    serve_browser(scripted, 25, page_hook=lambda req: html if req["START"] == 10 else None)
    session = pool.session(fast_config(scripted.url))
    pages = BrowserPaginator(session, object_name="CUSTOMER", page_size=10)
    seen = []
    with pytest.raises(RetriableConnectorError) as caught:
        seen.extend(pages)
    assert [p.number for p in seen] == [1]
    assert caught.value.page == 2 and "page 2" in caught.value.message and "502 Bad Gateway" in caught.value.message


def test_a_row_shorter_than_the_fields_is_a_bad_response_naming_page_and_row(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    def short_row(req: dict[str, Any]) -> dict[str, Any] | None:
        if req["START"] != 10:
            return None
        return ok(totalcount=25, rows=[["CUSTOMER;11", "C011", "x"], ["CUSTOMER;12", "C012"]])

    serve_browser(scripted, 25, page_hook=short_row)
    session = pool.session(fast_config(scripted.url))
    with pytest.raises(BadResponseError) as caught:
        list(BrowserPaginator(session, object_name="CUSTOMER", page_size=10))
    assert caught.value.page == 2 and caught.value.details["row"] == 1
    assert "page 2 row 1" in caught.value.message


def test_a_server_that_ignores_start_is_stopped_as_a_paging_loop(scripted: ScriptedServer, pool: SessionPool) -> None:
    serve_browser(scripted, 30, page_hook=lambda req: ok(totalcount=30, rows=[
        [f"CUSTOMER;{k}", f"C{k}", "x"] for k in range(1, 11)]))
    session = pool.session(fast_config(scripted.url))
    with pytest.raises(PagingLoopError) as caught:
        list(BrowserPaginator(session, object_name="CUSTOMER", page_size=10))
    assert caught.value.page == 2 and caught.value.code == "ERP_PAGING_LOOP"


@pytest.mark.parametrize("ahead", [AHEAD, 1])
def test_the_next_pages_are_requested_while_a_page_is_with_the_caller(
        scripted: ScriptedServer, pool: SessionPool, ahead: int) -> None:
    serve_browser(scripted, 100)
    session = pool.session(fast_config(scripted.url))
    pages = iter(BrowserPaginator(session, object_name="CUSTOMER", page_size=10, ahead=ahead))
    first = next(pages)

    def starts() -> list[int]:
        return [request["START"] for request in scripted.calls("getBrowserData")]

    deadline = time.monotonic() + 5
    while len(starts()) < 1 + ahead and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert sorted(starts()) == list(range(0, 100, 10))[:1 + ahead]  # requested, not yet asked for, and no further
    rest = list(pages)
    assert [p.number for p in [first, *rest]] == list(range(1, 11))
    assert [rid for p in [first, *rest] for rid in p.record_ids] == [str(k) for k in range(1, 101)]
    assert sorted(starts()) == list(range(0, 100, 10))


def test_a_server_that_sends_more_rows_than_asked_loses_and_repeats_none(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    def generous(req: dict[str, Any]) -> dict[str, Any]:
        start = req["START"]
        keys = range(start + 1, min(start + 15, 50) + 1)
        return ok(totalcount=50, rows=[[f"CUSTOMER;{k}", f"C{k:03d}", "x"] for k in keys])

    serve_browser(scripted, 50, page_hook=generous)
    session = pool.session(fast_config(scripted.url))
    pages = list(BrowserPaginator(session, object_name="CUSTOMER", page_size=10))
    assert [rid for p in pages for rid in p.record_ids] == [str(k) for k in range(1, 51)]
    assert [p.start for p in pages] == [0, 15, 30, 45]


def test_a_reqid_lost_on_every_attempt_gives_up_after_the_restart_bound(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    serve_browser(scripted, 30, page_hook=lambda req: failure(13, 'Invalid request, "reqID" expired.')
                  if req["START"] == 10 else None)
    session = pool.session(fast_config(scripted.url))
    with pytest.raises(ReqIdLostError) as caught:
        list(BrowserPaginator(session, object_name="CUSTOMER", page_size=10, max_restarts=2))
    assert caught.value.code == "ERP_PAGING_LOST" and caught.value.page == 2
    assert len(scripted.calls("getBrowserInfo")) == 3


# --- session ---------------------------------------------------------------------------------------------------

def test_eight_concurrent_callers_share_one_login(scripted: ScriptedServer, pool: SessionPool) -> None:
    scripted.routes["login"] = lambda req: Reply(ok(clientID=FINAL_CLIENT_ID), delay=0.2)
    scripted.routes["getobjects"] = lambda req: ok(count=1)
    session = pool.session(fast_config(scripted.url, company="1000", branch="1000", module="0", ref_id="1"))
    barrier = threading.Barrier(8)
    results: list[Any] = []

    def worker() -> None:
        barrier.wait()
        results.append(session.call("getObjects")["count"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [1] * 8
    assert len(scripted.calls("login")) == 1
    assert {r["clientID"] for r in scripted.calls("getObjects")} == {FINAL_CLIENT_ID}


def test_concurrent_callers_with_a_wrong_password_cause_one_login_attempt(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    scripted.routes["login"] = lambda req: Reply(failure(-1, "Login fails due to invalid login credentials."),
                                                 delay=0.2)
    session = pool.session(fast_config(scripted.url))
    barrier = threading.Barrier(8)
    errors: list[str] = []

    def worker() -> None:
        barrier.wait()
        try:
            session.call("getObjects")
        except ConnectorError as exc:
            errors.append(exc.code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == ["ERP_BAD_CREDENTIALS"] * 8
    assert len(scripted.calls("login")) == 1


def test_two_step_login_authenticates_the_environment_matching_the_company(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    scripted.routes["getobjects"] = lambda req: ok(count=0, objects=[])
    report = SoftOneConnector(fast_config(scripted.url, company="2000"), pool).check()
    auth = scripted.calls("authenticate")[0]
    assert (auth["clientID"], auth["COMPANY"], auth["BRANCH"], auth["REFID"]) == (CLIENT_ID, "2000", "2001", "7")
    assert "password" not in auth
    assert scripted.calls("getObjects")[0]["clientID"] == FINAL_CLIENT_ID
    assert report.company == "Δεύτερη Εταιρεία" and report.server_version == "6.00.622.11560"


def test_a_session_rejected_twice_logs_in_once_more_then_raises_session_expired(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    scripted.routes["getobjects"] = lambda req: failure(-101, "Invalid Request, session has expired!")
    session = pool.session(fast_config(scripted.url))
    with pytest.raises(SessionExpiredError) as caught:
        session.call("getObjects")
    assert caught.value.code == "ERP_SESSION_EXPIRED"
    assert len(scripted.calls("login")) == 2 and len(scripted.calls("getObjects")) == 2


def test_neither_password_nor_client_id_reaches_the_logs(
        scripted: ScriptedServer, pool: SessionPool, caplog: pytest.LogCaptureFixture) -> None:
    expired = iter([failure(-101, "Invalid Request, session has expired!")])
    scripted.routes["getobjects"] = lambda req: next(expired, ok(count=0, objects=[]))
    caplog.set_level(logging.DEBUG)
    connector = SoftOneConnector(fast_config(scripted.url), pool)
    connector.check()
    scripted.routes["login"] = lambda req: Reply(f'<html>login for {req["password"]} failed</html>')
    connector.session.invalidate()
    with pytest.raises(RetriableConnectorError) as caught:
        connector.check()
    text = caplog.text + str(caught.value)
    escaped = json.dumps(PASSWORD)[1:-1]
    assert "SoftOne login" in caplog.text and "logging in again" in caplog.text
    for secret in (PASSWORD, escaped, CLIENT_ID, FINAL_CLIENT_ID):
        assert secret not in text
    assert PASSWORD not in repr(connector.session.client.config)


# --- connector reads and writes --------------------------------------------------------------------------------

def test_browser_window_is_sent_in_server_time_widened_by_the_overlap_and_a_full_read_has_none(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    serve_browser(scripted, 0)
    clock = FrozenClock(datetime(2025, 7, 1, 9, 30, 15, tzinfo=UTC))
    connector = SoftOneConnector(fast_config(scripted.url, window_overlap=timedelta(minutes=5)), pool, clock=clock)
    query = Query(object="CUSTOMER", filters="CUSTOMER.ISACTIVE=1", cursor_field="CUSTOMER.UPDDATE")
    assert list(connector.pages(query, Window(since=datetime(2025, 7, 1, 10, 0)))) == []
    assert list(connector.pages(query, Window(since=None, until=datetime(2025, 7, 1, 12, 0)))) == []
    sent = [call["FILTERS"] for call in scripted.calls("getBrowserInfo")]
    assert sent == ["CUSTOMER.ISACTIVE=1&CUSTOMER.UPDDATE=2025-07-01 09:55:00&CUSTOMER.UPDDATE_TO=2025-07-01 12:30:15",
                    "CUSTOMER.ISACTIVE=1"]


def test_sqldata_pages_through_its_page_parameters_and_keeps_the_key_order(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    def script(req: dict[str, Any]) -> dict[str, Any]:
        page, size = req["pPage"], req["pSize"]
        keys = range((page - 1) * size + 1, min(page * size, 7) + 1)
        return ok(totalcount=len(keys), rows=[{"TRDR": str(k), "Stock QTY": k * 1.5, "NAME": None} for k in keys])

    scripted.routes["sqldata"] = script
    connector = SoftOneConnector(fast_config(scripted.url), pool)
    query = Query(object="erpSyncCustomers", mode="sqlData", page_size=3, key_field="TRDR",
                  params={"sinceParam": "since", "pageParam": "pPage", "sizeParam": "pSize", "company": "1000"})
    pages = list(connector.pages(query, Window(since=datetime(2025, 1, 1), until=datetime(2025, 2, 1))))
    assert [len(p) for p in pages] == [3, 3, 1]
    assert pages[0].fields == ("TRDR", "Stock QTY", "NAME") and pages[0].rows[1] == ("2", "3.0", "")
    assert [rid for p in pages for rid in p.record_ids] == [str(k) for k in range(1, 8)]
    first = scripted.calls("SqlData")[0]
    assert (first["SqlName"], first["since"], first["company"]) == ("erpSyncCustomers", "2024-12-31 23:55:00",
                                                                   "1000")


def test_a_sqldata_script_that_ignores_paging_is_a_paging_loop(scripted: ScriptedServer, pool: SessionPool) -> None:
    scripted.routes["sqldata"] = lambda req: ok(rows=[{"TRDR": "1"}, {"TRDR": "2"}])
    connector = SoftOneConnector(fast_config(scripted.url), pool)
    query = Query(object="all", mode="sqlData", page_size=2, params={"pageParam": "pPage", "sizeParam": "pSize"})
    with pytest.raises(PagingLoopError) as caught:
        list(connector.pages(query))
    assert caught.value.page == 2


def test_gettable_sends_only_a_filter_built_from_checked_parts(scripted: ScriptedServer, pool: SessionPool) -> None:
    scripted.routes["gettable"] = lambda req: ok(model=[[{"name": "TRDR"}, {"name": "NAME"}]],
                                                 data=[["5", "Αθηνά"]])
    connector = SoftOneConnector(fast_config(scripted.url), pool)
    query = Query(object="TRDR", mode="getTable", fields=("TRDR", "NAME"), filters="SODTYPE=13&COMPANY=1000",
                  cursor_field="UPDDATE", key_field="TRDR")
    [page] = connector.pages(query, Window(since=datetime(2025, 1, 1, 0, 5), until=datetime(2025, 1, 2)))
    assert page.rows == [("5", "Αθηνά")] and page.record_ids == ["5"]
    assert scripted.calls("GetTable")[0]["FILTER"] == (
        "SODTYPE = '13' AND COMPANY = '1000' AND UPDDATE >= '2025-01-01 00:00:00' AND UPDDATE <= '2025-01-02 00:00:00'")
    for hostile in ({"filters": "NAME=x' OR '1'='1"}, {"filters": "1=1; DROP TABLE TRDR"},
                    {"cursor_field": "UPDDATE>0 OR 1"}, {"fields": ("TRDR", "NAME FROM TRDR--")}):
        with pytest.raises(ValidationError):
            list(connector.pages(replace(query, **hostile), Window(since=datetime(2025, 1, 1))))
    assert len(scripted.calls("GetTable")) == 1


def test_an_insert_saved_before_the_connection_dropped_is_found_not_duplicated(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    saved: dict[str, dict[str, str]] = {}

    def set_data(req: dict[str, Any]) -> Reply:
        record = req["data"]["CUSTOMER"][0]
        saved[str(100 + len(saved))] = record
        return Reply(drop=True)

    def browser_info(req: dict[str, Any]) -> dict[str, Any]:
        field, _, value = req["FILTERS"].partition("=")
        hits = [k for k, r in saved.items() if r.get(field.split(".")[-1]) == value]
        return ok(reqID="9", totalcount=len(hits), fields=FIELDS[:1])

    scripted.routes.update({
        "setdata": set_data, "getbrowserinfo": browser_info,
        "getbrowserdata": lambda req: ok(rows=[[f"CUSTOMER;{k}"] for k in saved]),
        "getdata": lambda req: ok(data={"CUSTOMER": [{"VARCHAR01": saved[req["KEY"]]["VARCHAR01"]}]}),
    })
    connector = SoftOneConnector(fast_config(scripted.url), pool)
    result = connector.push(PushRequest(object="CUSTOMER", table="CUSTOMER", reference=("VARCHAR01", "erp-sync-42"),
                                        values={"NAME": "Νέος Πελάτης", "VARCHAR01": "erp-sync-42"}))
    assert result.accepted and result.record_id == "100" and result.existing
    assert list(saved) == ["100"] and len(scripted.calls("setData")) == 1
    assert scripted.calls("getBrowserInfo")[0]["FILTERS"] == "CUSTOMER.VARCHAR01=erp-sync-42"


def test_an_insert_without_reference_is_not_retried_after_an_ambiguous_failure(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    scripted.routes["setdata"] = lambda req: Reply(drop=True)
    connector = SoftOneConnector(fast_config(scripted.url), pool)
    with pytest.raises(RetriableConnectorError) as caught:
        connector.push(PushRequest(object="CUSTOMER", table="CUSTOMER", values={"NAME": "x"}))
    assert caught.value.code == "ERP_UNAVAILABLE"
    assert len(scripted.calls("setData")) == 1


def test_an_update_refused_by_business_logic_is_a_rejected_push_with_the_greek_message(
        scripted: ScriptedServer, pool: SessionPool) -> None:
    message = "S1:ESoftOneError: Ο ΑΦΜ δεν είναι έγκυρος"
    scripted.routes["setdata"] = lambda req: Reply(failure(0, message), encoding="cp1253")
    connector = SoftOneConnector(fast_config(scripted.url), pool)
    result = connector.push(PushRequest(object="CUSTOMER", table="CUSTOMER", values={"AFM": "1"}, record_id="7"))
    assert (result.accepted, result.record_id, result.message, result.error_code) == (
        False, "7", message, "ERP_BUSINESS_ERROR")
    assert scripted.calls("setData")[0]["KEY"] == "7"


def test_config_repr_hides_the_password() -> None:
    config = SoftOneConfig(base_url="https://demo.oncloud.gr/s1services", username="demo", password=PASSWORD,
                           app_id="1001")
    assert PASSWORD not in repr(config) and "demo" in repr(config)
