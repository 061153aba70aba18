"""The largest cursor value of a page: empty values, Delphi's zero date and short rows never count."""

from __future__ import annotations

import pytest

from erp_sync.connectors.base import Page
from erp_sync.services.page_loader import _page_max_cursor


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
    assert _page_max_cursor(page(*values), 1) == expected
    assert _page_max_cursor(page(*values), None) is None
