"""The /_sandbox/ admin surface and its in-process twin on app.state."""

from __future__ import annotations

import httpx
from sandbox_support import CUSTOMERS, S1

from erp_sync.sandbox import SandboxConfig, start_in_thread


def test_stats_count_logins_authentications_calls_errors_and_sessions(s1: S1) -> None:
    temporary = s1.send({"service": "login", "username": "demo", "password": "demo", "appId": "1001"})["clientID"]
    s1.client_id = s1.send(
        {
            "service": "authenticate",
            "clientID": temporary,
            "COMPANY": "1000",
            "BRANCH": "1000",
            "MODULE": "0",
            "REFID": "1",
        }
    )["clientID"]
    s1.call("getObjects")
    s1.call("nonsense")
    s1.send({"service": "login", "username": "demo", "password": "wrong", "appId": "1001"})
    stats = s1.admin("GET", "/stats").json()
    assert stats["logins"] == 1 and stats["authenticates"] == 1
    assert stats["calls"] == {"login": 2, "authenticate": 1, "getObjects": 1, "nonsense": 1}
    assert stats["errors"] == 2 and stats["errors_by_code"] == {"-12": 1, "-1": 1}
    assert stats["active_sessions"] == 1 and stats["rows"] == {"CUSTOMER": CUSTOMERS, "ITEM": 20}


def test_rows_can_be_inserted_patched_deleted_and_reset(logged_in: S1) -> None:
    created = logged_in.admin("POST", "/rows/CUSTOMER", {"NAME": "Acme Ltd", "CODE": "ACME"})
    assert created.status_code == 201
    new_id = created.json()["id"]
    assert logged_in.admin("GET", f"/rows/CUSTOMER/{new_id}").json()["CODE"] == "ACME"
    patched = logged_in.admin("PATCH", "/rows/customer/2", {"EMAIL": "new@example.gr"}).json()
    assert patched["EMAIL"] == "new@example.gr" and patched["UPDDATE"] == "2025-03-10 10:00:00"
    assert logged_in.admin("DELETE", "/rows/CUSTOMER/3").status_code == 200
    rows = logged_in.admin("GET", "/rows/CUSTOMER").json()
    assert len(rows) == CUSTOMERS and rows[-1]["TRDR"] == new_id and "3" not in {r["TRDR"] for r in rows}
    assert logged_in.admin("PATCH", "/rows/CUSTOMER/3", {"NAME": "x"}).status_code == 404
    assert logged_in.admin("PATCH", "/rows/CUSTOMER/2", {"COLOR": "x"}).status_code == 400
    assert logged_in.admin("GET", "/rows/SALDOC").status_code == 404

    assert logged_in.admin("POST", "/reset").json() == {"reset": True}
    assert len(logged_in.admin("GET", "/rows/CUSTOMER").json()) == CUSTOMERS
    assert logged_in.admin("GET", "/rows/CUSTOMER/2").json()["EMAIL"] != "new@example.gr"
    assert logged_in.admin("GET", "/stats").json()["requests"] == 0
    assert logged_in.call("getObjects")["success"] is True  # sessions survive a plain reset


def test_config_changes_runtime_switches_and_refuses_others(logged_in: S1) -> None:
    changed = logged_in.admin("POST", "/config", {"gzip_some": False, "session_idle_seconds": 5}).json()
    assert changed["gzip_some"] is False and changed["session_idle_seconds"] == 5 and "password" not in changed
    assert logged_in.admin("POST", "/config", {"customers": 5}).status_code == 400
    assert logged_in.admin("POST", "/config", {"gzip_some": "yes"}).status_code == 400


def test_state_offers_the_same_operations_in_process(logged_in: S1) -> None:
    state = logged_in.sandbox.app.state
    key = state.insert_row("ITEM", {"NAME": "Καφές φίλτρου", "PRICER": "7.90"})
    assert state.row("ITEM", key)["PRICER"] == "7.90"
    state.patch_row("ITEM", key, {"PRICER": "8.20"})
    assert logged_in.call("getData", OBJECT="ITEM", KEY=key)["data"]["ITEM"][0]["PRICER"] == "8.20"
    state.set_faults({"fail_on_call": {"n": 1, "errorcode": 20, "error": "Internal error"}})
    assert logged_in.call("getObjects")["errorcode"] == 20
    assert state.stats_view()["faults_fired"] == {"fail_on_call": 1}
    state.expire_sessions()
    assert logged_in.call("getObjects")["errorcode"] == -101


def test_an_admin_token_guards_the_admin_surface() -> None:
    with start_in_thread(SandboxConfig(customers=3, items=1, admin_token="s3cret")) as sandbox:
        assert httpx.get(sandbox.admin_url + "/stats").status_code == 401
        ok = httpx.get(sandbox.admin_url + "/stats", headers={"X-Sandbox-Token": "s3cret"})
        assert ok.status_code == 200 and ok.json()["rows"] == {"CUSTOMER": 3, "ITEM": 1}


def test_touch_edits_every_nth_row_in_one_request(logged_in: S1) -> None:
    before = logged_in.admin("GET", "/rows/CUSTOMER").json()
    answer = logged_in.admin("POST", "/rows/customer/touch", {"every": 10, "offset": 1, "fields": {"REMARKS": "x"}})
    assert answer.status_code == 200 and answer.json() == {"touched": CUSTOMERS // 10}
    after = logged_in.admin("GET", "/rows/CUSTOMER").json()
    for position, (old, new) in enumerate(zip(before, after, strict=True)):
        if position % 10 == 1:
            assert new == {**old, "REMARKS": "x", "UPDDATE": "2025-03-10 10:00:00"}
        else:
            assert new == old
    assert logged_in.admin("POST", "/rows/CUSTOMER/touch", {}).json() == {"touched": CUSTOMERS}  # UPDDATE only
    assert logged_in.admin("POST", "/rows/CUSTOMER/touch", {"every": 0}).status_code == 400
    assert logged_in.admin("POST", "/rows/CUSTOMER/touch", {"every": 5, "fields": {"COLOR": "x"}}).status_code == 400
    assert logged_in.admin("POST", "/rows/CUSTOMER/touch", {"fields": ["REMARKS"]}).status_code == 400
    assert logged_in.admin("POST", "/rows/SALDOC/touch", {"every": 5}).status_code == 404
    assert logged_in.sandbox.app.state.touch_rows("ITEM", 7) == 3  # the same operation in process
