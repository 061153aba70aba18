"""The largest cursor value of a page: empty values, Delphi's zero date, short rows and values that are no time
never count (one rule, `domain.run`'s); a row whose cursor value is no time gets one row error and the run goes on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from app_fixtures import customer_integration
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from tests_support import erp_rows, table_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.connectors.base import Page
from erp_sync.domain.run import ERP_SENTINELS, max_cursor, page_cursor, parse_erp_datetime
from erp_sync.sandbox import RunningSandbox
from erp_sync.services.load.cursor import page_cursor as _page_cursor


def page(*values: str | None) -> Page:
    rows = [["k", value] if value is not None else ["k"] for value in values]  # None: a short row
    return Page(number=1, start=0, fields=("KEY", "UPDDATE"), rows=rows, record_ids=[None] * len(rows))


@pytest.mark.parametrize(("values", "expected"), [
    (("2024-07-01 10:00:00", "2024-07-02 09:00:00", "2024-06-30 23:59:59"), "2024-07-02 09:00:00"),
    (("", "2024-07-01 10:00:00", None), "2024-07-01 10:00:00"),
    (("1899-12-30 00:00:00", "1850-01-01 00:00:00", ""), "1850-01-01 00:00:00"),  # older than the zero date
    (("", "1899-12-30 00:00:00"), None),
    ((None, None), None),
    ((), None),
])
def test_the_largest_cursor_value_skips_what_is_no_value(values: tuple[str | None, ...],
                                                         expected: str | None) -> None:
    assert _page_cursor(page(*values), 1) == (datetime.fromisoformat(expected) if expected else None, [])
    assert _page_cursor(page(*values), None) == (None, [])


@pytest.mark.parametrize("values", [
    ("2024-07-01 10:00:00", "not a time", "2024-07-02 09:00:00"),
    ("31/12/2024 10:00", "2024-07-01 10:00:00"),
    ("2024-07-01 10:00:00+02:00", "2024-06-01 10:00:00"),  # ERP datetimes carry no zone
    ("2024-07-01 10:00:00+02:00",),
    (" 2024-07-01 10:00:00", "2024-06-01 10:00:00"),
    ("2024-07-01T10:00:00", "2024-07-01 09:00:00", "1899-12-30", "1899-12-30T00:00:00", ""),
    ("2024-07-01", "2024-06-30 23:00:00"),
    ("1899-06-01 00:00:00", "1899-12-30 00:00:00"),
    ("2024-02-30 10:00:00", "2024-01-01 00:00:00"),
])
def test_the_largest_cursor_value_is_the_one_domain_rule_reads(values: tuple[str, ...]) -> None:
    latest, unreadable = _page_cursor(page(*values), 1)
    assert latest == max_cursor(values)
    assert [values[i] for i in unreadable] == [v for v in values if not _readable(v)]


def _readable(text: str) -> bool:
    try:
        parse_erp_datetime(text)
    except ValueError:
        return False
    return True


def two_cursors(sandbox: RunningSandbox, bad_key: int, good_key: int) -> str:
    """Give one row an unreadable UPDDATE and another the newest readable one; returns that newest value."""
    sandbox.app.state.patch_row("CUSTOMER", bad_key, {"UPDDATE": "31/12/2099 κάποτε"})
    newest = "2025-06-01 12:00:00"  # after every seeded value, before the run (the watermark stops there)
    sandbox.app.state.patch_row("CUSTOMER", good_key, {"UPDDATE": newest})
    return newest


def cursor_errors(erp: ErpSync) -> list[Any]:
    with erp.engine.connect() as conn:
        return list(conn.execute(text("SELECT erp_key, field, code, reason FROM erp_sync_row_errors")).all())


@pytest.mark.parametrize("cursor_type", ["datetime", "string", None])
def test_an_unreadable_cursor_value_is_one_row_error_and_left_out_of_the_watermark(
        erp: ErpSync, sandbox: RunningSandbox, cursor_type: str | None) -> None:
    mappings = [m for m in customer_integration()["mappings"] if m["target"] != "erp_updated_at"]
    if cursor_type is not None:
        mappings.append({"source": "CUSTOMER.UPDDATE", "target": "erp_updated_at", "type": cursor_type})
        if cursor_type == "string":
            with erp.engine.begin() as conn:
                conn.execute(text("CREATE TABLE customers_text (erp_id BIGINT PRIMARY KEY, code TEXT, name TEXT, "
                                  "vat_number TEXT, email TEXT, city TEXT, is_active BOOLEAN, erp_updated_at TEXT)"))
    table = "customers_text" if cursor_type == "string" else "customers"
    integration = erp.integrations.create(customer_integration(sandbox.url, mappings=mappings,
                                                               target={"table": table})).id
    keys = sorted(erp_rows(sandbox))
    newest = two_cursors(sandbox, keys[120], keys[7])
    outcome = erp.runner.run(integration, "api")
    assert outcome.status == "succeeded_with_errors", outcome.error_message
    (error,) = cursor_errors(erp)
    assert error.erp_key == str(keys[120]) and error.code == "ROW_MAPPING_FAILED"
    assert "31/12/2099" in error.reason
    assert outcome.stats.errors == 1
    assert erp.integrations.get(integration).watermark == newest
    written = keys[120] in table_rows(erp, table)
    assert written == (cursor_type != "datetime")  # a datetime column cannot hold it: the row is left out


_TEXTS = st.one_of(
    st.sampled_from([*sorted(ERP_SENTINELS), " ", " 1899-12-30", "1899-12-30 00:00", "1899-12-29 23:59:59",
                     "2024-07-01 10:00:00+02:00", "2024-07-01Z", "2024-07-01\t"]),
    st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(2100, 1, 1)).flatmap(
        lambda moment: st.sampled_from([moment.isoformat(" ", "seconds"), moment.isoformat(), moment.date().isoformat(),
                                        f" {moment.isoformat(' ', 'seconds')}", f"{moment:%d/%m/%Y %H:%M}"])),
    st.text(alphabet="0123456789-: TZ+.", max_size=22),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_TEXTS, max_size=12))
def test_the_fast_path_gives_what_the_rule_gives_value_by_value(texts: list[str]) -> None:
    latest, unreadable = page_cursor(texts)
    assert latest == max_cursor(texts)
    assert unreadable == {text for text in texts if not _readable(text)}
