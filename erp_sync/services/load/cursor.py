"""A page's cursor values: the latest one moves the run's watermark on, and a row whose value is no time is a row
error (the row itself is loaded)."""

from __future__ import annotations

from datetime import datetime
from operator import itemgetter

from erp_sync.connectors.base import Page
from erp_sync.domain import run as rules
from erp_sync.domain.mapping import RowProblem, field_positions
from erp_sync.services.load.changes import LookedUp
from erp_sync.services.run.context import RunContext, RunProgress


def cursor_index(fields: tuple[str, ...], cursor_field: str | None) -> int | None:
    """The page field holding the cursor (`domain.mapping.field_positions`; the first, should several match)."""
    found = field_positions(cursor_field, fields) if cursor_field else []
    return found[0] if found else None


def page_cursor(page: Page, index: int | None) -> tuple[datetime | None, list[int]]:
    """The page's latest cursor value (`domain.run.page_cursor`'s rule) and the positions of the rows whose
    cursor value is no time. Short rows have no cursor value."""
    if index is None or not page.rows:
        return None, []
    try:
        column = list(map(itemgetter(index), page.rows))
    except IndexError:  # a short row
        column = [row[index] if len(row) > index else "" for row in page.rows]
    latest, unreadable = rules.page_cursor(column)
    return latest, ([i for i, text in enumerate(column) if text in unreadable] if unreadable else [])


def note_cursor(ctx: RunContext, progress: RunProgress, page: Page) -> list[int]:
    """Move the run's latest cursor value on; returns the positions of rows whose cursor value is no time."""
    latest, unreadable = page_cursor(page, cursor_index(page.fields, ctx.spec.source.cursor_field))
    progress.note_cursor(latest)
    return unreadable


def cursor_problems(ctx: RunContext, page: Page, looked: LookedUp, positions: list[int]) -> list[RowProblem]:
    """One row error per row whose cursor value is no time, unless its mapping failed already; the row itself
    is loaded (where its mapping allows)."""
    if not positions:
        return []
    mapped = looked.mapped
    failed = {looked.position(problem.index) for problem in mapped.errors}
    erp_keys = dict(zip(map(looked.position, mapped.indexes), mapped.erp_keys, strict=True))
    cursor = ctx.spec.source.cursor_field or ""
    index = cursor_index(page.fields, cursor)
    assert index is not None
    record_ids = page.record_ids if len(page.record_ids) == len(page.rows) else [None] * len(page.rows)
    return [RowProblem(i, record_ids[i] or erp_keys.get(i), cursor,
                       f"the cursor value {page.rows[i][index]!r} is not a time (YYYY-MM-DD HH:MM:SS); the row "
                       "was loaded, but its value does not move the watermark")
            for i in positions if i not in failed]
