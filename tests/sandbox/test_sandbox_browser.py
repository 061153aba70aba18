"""Browsers: getBrowserInfo/getBrowserData paging, FILTERS semantics and reqID lifetimes."""

from __future__ import annotations

import re

from sandbox_support import CUSTOMERS, ITEMS, S1, TestClock


def _admin_rows(s1: S1, object_name: str = "CUSTOMER") -> list[dict[str, str]]:
    response = s1.admin("GET", f"/rows/{object_name}")
    assert response.status_code == 200
    return response.json()


def test_browser_info_has_a_digit_reqid_zoominfo_first_and_one_column_less(logged_in: S1) -> None:
    info = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="", FILTERS="")
    assert re.fullmatch(r"0\d{18}", info["reqID"])
    assert info["totalcount"] == CUSTOMERS
    names = [f["name"] for f in info["fields"]]
    assert names[:4] == ["ZOOMINFO", "CUSTOMER.TRDR", "CUSTOMER.CODE", "CUSTOMER.NAME"]
    assert "CUSTOMER.UPDDATE" in names and "rows" not in info
    assert [c["dataIndex"] for c in info["columns"]] == names[1:]
    assert info["columns"][2]["header"] == "Επωνυμία"


def test_paging_to_the_end_returns_every_row_once_in_key_order(logged_in: S1) -> None:
    rows = logged_in.browse(page_size=7)
    assert len(rows) == CUSTOMERS
    assert [r[0] for r in rows] == [f"CUSTOMER;{k}" for k in range(1, CUSTOMERS + 1)]
    assert all(len(r) == 14 and all(isinstance(v, str) for v in r) for r in rows)
    expected = _admin_rows(logged_in)
    assert [(r[1], r[2], r[3], r[13]) for r in rows] == [
        (e["TRDR"], e["CODE"], e["NAME"], e["UPDDATE"]) for e in expected
    ]
    assert any(re.search("[Α-Ωα-ωάέήίόύώ]", r[3]) for r in rows) and any(r[3].isascii() for r in rows)


def test_a_page_past_the_end_is_empty_and_totalcount_stays_the_total(logged_in: S1) -> None:
    info = logged_in.call("getBrowserInfo", OBJECT="ITEM", LIST="")
    assert info["totalcount"] == ITEMS
    last = logged_in.call("getBrowserData", reqID=info["reqID"], START=ITEMS - 3, LIMIT=10)
    assert len(last["rows"]) == 3 and last["totalcount"] == ITEMS
    assert last["rows"][-1][0] == f"ITEM;{ITEMS}"
    assert logged_in.call("getBrowserData", reqID=info["reqID"], START=ITEMS, LIMIT=10)["rows"] == []


def test_version_2_with_limit_returns_the_first_rows_at_once(logged_in: S1) -> None:
    info = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="", VERSION=2, LIMIT=1)
    assert info["rows"] == [logged_in.browse(page_size=100)[0]]
    assert info["rows"][0][0] == "CUSTOMER;1"


def test_filters_equality_wildcard_and_comma_lists(logged_in: S1) -> None:
    assert [r[0] for r in logged_in.browse(filters="CUSTOMER.CODE=C000012")] == ["CUSTOMER;12"]
    assert [r[0] for r in logged_in.browse(filters="CUSTOMER.CODE=c00001*")] == [f"CUSTOMER;{k}" for k in range(10, 20)]
    assert [r[0] for r in logged_in.browse(filters="CUSTOMER.TRDR=3,5,999")] == ["CUSTOMER;3", "CUSTOMER;5"]
    expected = [e["TRDR"] for e in _admin_rows(logged_in) if e["ISACTIVE"] == "0"]
    assert [r[1] for r in logged_in.browse(filters="CUSTOMER.ISACTIVE=0&CUSTOMER.NAME=")] == expected
    city = _admin_rows(logged_in)[0]["CITY"]
    assert {r[7] for r in logged_in.browse(filters=f"CUSTOMER.CITY={city}")} == {city}


def test_upddate_ranges_are_inclusive_and_a_date_only_upper_bound_covers_the_day(logged_in: S1) -> None:
    dates = sorted(e["UPDDATE"] for e in _admin_rows(logged_in))
    low, high = dates[10], dates[40]
    rows = logged_in.browse(filters=f"CUSTOMER.UPDDATE={low}&CUSTOMER.UPDDATE_TO={high}")
    assert sorted(r[13] for r in rows) == dates[10:41]
    day = dates[40][:10]
    rows = logged_in.browse(filters=f"CUSTOMER.UPDDATE={low[:10]}&CUSTOMER.UPDDATE_TO={day}")
    assert sorted(r[13] for r in rows) == [d for d in dates if low[:10] <= d[:10] <= day]


def test_a_row_changed_in_softone_shows_up_in_an_upddate_window_from_the_last_run(
    logged_in: S1, clock: TestClock
) -> None:
    clock.advance(days=3)
    patched = logged_in.admin("PATCH", "/rows/CUSTOMER/17", {"NAME": "Ξενοδοχεία Κρήτης Α.Ε."}).json()
    assert patched["UPDDATE"] == "2025-03-13 10:00:00"  # 08:00 UTC is 10:00 in Athens in March
    logged_in.login()  # three idle days expired the session
    rows = logged_in.browse(filters="CUSTOMER.UPDDATE=2025-03-13 00:00:00&CUSTOMER.UPDDATE_TO=2025-03-13 23:59:59")
    assert [(r[0], r[3]) for r in rows] == [("CUSTOMER;17", "Ξενοδοχεία Κρήτης Α.Ε.")]


def test_an_unknown_filter_field_is_an_error_not_a_silent_full_list(logged_in: S1) -> None:
    body = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="", FILTERS="CUSTOMER.COLOR=red")
    assert body["success"] is False and body["errorcode"] == -9
    assert logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="WSCustomers")["errorcode"] == -9


def test_a_reqid_expires_after_its_call_budget_with_error_13(logged_in: S1) -> None:
    logged_in.admin("POST", "/config", {"reqid_max_calls": 2})
    info = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="")
    for start in (0, 10):
        assert logged_in.call("getBrowserData", reqID=info["reqID"], START=start, LIMIT=10)["success"] is True
    expired = logged_in.call("getBrowserData", reqID=info["reqID"], START=20, LIMIT=10)
    assert expired == {"success": False, "errorcode": 13, "error": 'Invalid request, "reqID" expired.'}
    fresh = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="")
    assert logged_in.call("getBrowserData", reqID=fresh["reqID"], START=20, LIMIT=10)["rows"][0][0] == "CUSTOMER;21"


def test_an_idle_reqid_expires_and_an_unknown_one_answers_102(logged_in: S1, clock: TestClock) -> None:
    info = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="")
    clock.advance(seconds=601)
    assert logged_in.call("getBrowserData", reqID=info["reqID"], START=0, LIMIT=5)["errorcode"] == 13
    assert logged_in.call("getBrowserData", reqID="0000000000000000001", START=0, LIMIT=5)["errorcode"] == 102


def test_the_row_set_of_a_reqid_is_fixed_while_inserts_happen(logged_in: S1) -> None:
    info = logged_in.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="")
    logged_in.admin("POST", "/rows/CUSTOMER", {"NAME": "Late Arrival Ltd"})
    page = logged_in.call("getBrowserData", reqID=info["reqID"], START=CUSTOMERS - 1, LIMIT=10)
    assert [r[0] for r in page["rows"]] == [f"CUSTOMER;{CUSTOMERS}"]
    assert len(logged_in.browse()) == CUSTOMERS + 1
