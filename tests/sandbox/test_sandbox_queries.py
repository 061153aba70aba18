"""SqlData named scripts and GetTable with its WHERE subset."""

from __future__ import annotations

import pytest
from sandbox_support import CUSTOMERS, S1

from erp_sync.sandbox.protocol import ServiceError
from erp_sync.sandbox.schema import CUSTOMER
from erp_sync.sandbox.where import compile_where


def _customers(s1: S1) -> list[dict[str, str]]:
    return s1.admin("GET", "/rows/CUSTOMER").json()


def test_changed_customers_returns_rows_since_the_cutoff_ordered_by_upddate(logged_in: S1) -> None:
    since = sorted(e["UPDDATE"] for e in _customers(logged_in))[-12]
    body = logged_in.call("SqlData", SqlName="ChangedCustomers", since=since)
    assert body["success"] is True and body["totalcount"] == len(body["rows"]) == 12
    assert list(body["rows"][0]) == ["TRDR", "CODE", "NAME", "AFM", "EMAIL", "PHONE01", "CITY", "ISACTIVE", "UPDDATE"]
    stamps = [r["UPDDATE"] for r in body["rows"]]
    assert stamps == sorted(stamps) and stamps[0] == since


def test_changed_customers_pages_only_when_asked(logged_in: S1) -> None:
    everything = logged_in.call("sqldata", sqlname="9701", since="2000-01-01")
    assert everything["totalcount"] == CUSTOMERS
    pages = [
        logged_in.call("SqlData", SqlName="ChangedCustomers", since="2000-01-01", pPage=p, pSize=25)["rows"]
        for p in (1, 2, 3, 4)
    ]
    assert [len(p) for p in pages] == [25, 25, 10, 0]
    assert [r["TRDR"] for p in pages for r in p] == [r["TRDR"] for r in everything["rows"]]


def test_sql_data_errors_name_the_problem(logged_in: S1) -> None:
    assert logged_in.call("SqlData", SqlName="DropAll")["errorcode"] == -9
    missing = logged_in.call("SqlData", SqlName="ChangedItems")
    assert missing["errorcode"] == -9 and "since" in missing["error"]
    stock = logged_in.call("SqlData", SqlName="ItemStock")
    assert "Stock QTY" in stock["rows"][0]


def test_get_table_answers_columnar_data_for_a_field_list_and_filter(logged_in: S1) -> None:
    body = logged_in.call("GetTable", TABLE="trdr", FIELDS="trdr,code,upddate", FILTER="1=1", version="1")
    assert body["success"] is True and body["table"] == "TRDR" and body["count"] == CUSTOMERS
    assert [c["name"] for c in body["model"][0]] == ["TRDR", "CODE", "UPDDATE"]
    assert body["data"][0][:2] == ["1", "C000001"]
    cutoff = sorted(e["UPDDATE"] for e in _customers(logged_in))[-5]
    recent = logged_in.call(
        "GetTable", TABLE="CUSTOMER", FIELDS="TRDR", FILTER=f"sodtype=13 AND company=1000 AND upddate >= '{cutoff}'"
    )
    assert recent["count"] == 5


def test_get_table_refuses_anything_outside_its_where_subset(logged_in: S1) -> None:
    for bad in ("1=1; DROP TABLE TRDR", "code = C000001", "__import__('os')", "shoesize = 4"):
        body = logged_in.call("GetTable", TABLE="trdr", FIELDS="TRDR", FILTER=bad)
        assert body["success"] is False and body["errorcode"] == -9, bad


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("code = 'C000002' OR (trdr >= 59 AND sodtype = 13)", {"2", "59", "60"}),
        ("NOT trdr > 3", {"1", "2", "3"}),
        ("trdr.code LIKE 'c00000_'", {str(k) for k in range(1, 10)}),
        ("trdr IN (4, '6') AND insdate IS NOT NULL", {"4", "6"}),
        ("name = 'Acme''s'", set()),
    ],
)
def test_where_subset_semantics(where: str, expected: set[str]) -> None:
    from erp_sync.sandbox.data import CustomerRows

    rows = CustomerRows(7, 60, "1000").rows(range(1, 61))
    predicate = compile_where(where, CUSTOMER)
    assert {r[2] for r in rows if predicate(r)} == expected


def test_where_parse_errors_are_service_errors() -> None:
    with pytest.raises(ServiceError) as caught:
        compile_where("trdr = ", CUSTOMER)
    assert caught.value.errorcode == -9
