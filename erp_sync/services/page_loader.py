"""Loading one page: map the rows, compare them with their bindings, and write what changed.

Everything a page writes commits in one transaction: the target upsert, the bindings, the row errors, the run's
counters and the lease renewal (which is also the fencing check). If any of it fails, none of it happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import insert

from erp_sync.connectors.base import Page
from erp_sync.db import bindings
from erp_sync.db.models import ROW_ERRORS
from erp_sync.db.runs import add_counts, renew_lease
from erp_sync.domain import run as rules
from erp_sync.domain.mapping import (
    BoundMapping,
    MappedRows,
    RowProblem,
    field_positions,
)
from erp_sync.domain.run import RunStats
from erp_sync.services.run.context import RunContext, RunProgress
from erp_sync.services.two_way import conflicts as conflicts_of_page
from erp_sync.services.two_way.versions import store_page_versions


class _AlreadyBound(Exception):
    """A page written as all-new met a key that had a binding or a target row: it is rolled back and redone."""


def _cursor_index(fields: tuple[str, ...], cursor_field: str | None) -> int | None:
    """The page field holding the cursor (`domain.mapping.field_positions`; the first, should several match)."""
    found = field_positions(cursor_field, fields) if cursor_field else []
    return found[0] if found else None


def _page_cursor(page: Page, index: int | None) -> tuple[datetime | None, list[int]]:
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


def _note_cursor(ctx: RunContext, progress: RunProgress, page: Page) -> list[int]:
    """Move the run's latest cursor value on; returns the positions of rows whose cursor value is no time."""
    latest, unreadable = _page_cursor(page, _cursor_index(page.fields, ctx.spec.source.cursor_field))
    progress.note_cursor(latest)
    return unreadable


def load_page(ctx: RunContext, progress: RunProgress, page: Page, now: datetime) -> RunStats:
    """Skip, map, classify and write one page in one transaction; returns the page's counts.

    When every row carries its ERP record id (SoftOne browsers: ZOOMINFO), a row whose source hash equals its
    binding's is unchanged and is not mapped at all; the others are mapped and compared by their value hash.
    While `progress.assume_new` holds (the integration had no bindings when the run began: a first load), nothing is
    looked up: the rows are written as new and the writes prove it. The first page that meets a key already
    bound (or, where the target was empty too, already in the target) is rolled back and redone the careful
    way, as is every page after it."""
    if progress.assume_new and not ctx.dry_run:
        try:
            return _load_page(ctx, progress, page, now, assume_new=True)
        except _AlreadyBound:
            progress.assume_new = False
    return _load_page(ctx, progress, page, now, assume_new=False)


@dataclass
class _LookedUp:
    """A page's rows to compare: mapped, with their page positions (None: all the page's rows, in order), source
    hashes by ERP key (None: the page has no record ids), the bindings' row hashes by ERP key (None: no binding,
    TOMBSTONED: a tombstone), and how many rows were unchanged at the source."""

    mapped: MappedRows
    positions: list[int] | None
    sources: dict[str, str] | None
    known: dict[str, str | None]
    unchanged: int = 0

    def position(self, index: int) -> int:
        return index if self.positions is None else self.positions[index]


@dataclass
class _Changes:
    """What a page writes: changed rows (values, bindings, keys) and bindings whose source hash alone changed."""

    values: list[tuple[Any, ...]] = field(default_factory=list)
    bindings: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    refreshed: list[tuple[str, str]] = field(default_factory=list)


def _load_page(ctx: RunContext, progress: RunProgress, page: Page, now: datetime, *, assume_new: bool) -> RunStats:
    stats = RunStats(pages=1, fetched=len(page.rows))
    bad_cursors = _note_cursor(ctx, progress, page)
    bound = ctx.plan.bind(page.fields)
    record_ids = page.record_ids
    skippable = bool(record_ids) and len(record_ids) == len(page.rows) and all(record_ids)
    if ctx.track_seen and skippable:
        progress.seen.update(record_ids)  # type: ignore[arg-type]
    # Hashing and mapping need no database, so they happen before the page's transaction: on SQLite that
    # transaction holds the database's one write lock (BEGIN IMMEDIATE), which other runs and the API wait for.
    # Only rows whose source hash the bindings do not know yet are mapped, so that case maps inside.
    source_hashes = bound.source_hashes(page.rows) if skippable else None
    mapped = bound.map_rows(page.rows, record_ids) if assume_new or not skippable else None
    with ctx.engine.begin() as conn:
        looked = _look_up(ctx, conn, bound, page, mapped, source_hashes, assume_new=assume_new)
        if ctx.track_seen and not skippable:
            progress.seen.update(looked.mapped.erp_keys)
            progress.seen.update(problem.erp_key for problem in looked.mapped.errors if problem.erp_key)
        stats.unchanged = looked.unchanged
        problems = [*looked.mapped.errors, *_cursor_problems(ctx, page, looked, bad_cursors)]
        stats.errors = len(problems)
        changes = _compare(looked, stats)
        if ctx.spec.direction == "two_way" and changes.keys and looked.known:
            changes, stats.conflicts = _settle_conflicts(ctx, conn, changes, looked.known, now)
        if not ctx.dry_run:
            _write_page(ctx, conn, changes, looked.known, stats, now, assume_new=assume_new)
            _record_problems(ctx, conn, problems, page.number, now)
        store_page_versions(ctx, conn, page)
        add_counts(conn, ctx.run_id, now, stats.as_dict())
        renew_lease(conn, ctx.lease, now, ctx.lease_ttl)
    return stats


def _look_up(ctx: RunContext, conn: Any, bound: BoundMapping, page: Page, mapped: MappedRows | None,
             source_hashes: list[str] | None, *, assume_new: bool) -> _LookedUp:
    """The page's rows that need comparing, mapped, with what the bindings know of them (nothing, while
    `assume_new`)."""
    record_ids: list[str] = page.record_ids  # type: ignore[assignment]  # all set where source_hashes is
    if source_hashes is not None and assume_new:
        assert mapped is not None
        return _LookedUp(mapped, None, dict(zip(record_ids, source_hashes, strict=True)), {})
    if source_hashes is not None:
        positions, known = _changed_at_source(ctx, conn, record_ids, source_hashes)
        if positions is None:
            rows, ids, hashes = page.rows, record_ids, source_hashes
        else:
            rows, ids = [page.rows[i] for i in positions], [record_ids[i] for i in positions]
            hashes = [source_hashes[i] for i in positions]
        sources = dict(zip(ids, hashes, strict=True))
        return _LookedUp(bound.map_rows(rows, ids), positions, sources, known, len(page.rows) - len(rows))
    assert mapped is not None
    found: dict[str, str | None] = {}
    if not assume_new:
        found.update(bindings.hashes_for(conn, ctx.integration_id, mapped.erp_keys))
    return _LookedUp(mapped, None, None, found)


def _changed_at_source(ctx: RunContext, conn: Any, record_ids: list[str],
                       source_hashes: list[str]) -> tuple[list[int] | None, dict[str, str | None]]:
    """The positions of the rows whose ERP text changed since their last import or that have no live binding
    (None: all of them), and the stored row hash of each (None: no binding, TOMBSTONED: a tombstone)."""
    known = bindings.stale_sources(conn, ctx.integration_id, record_ids, source_hashes)
    if len(known) == len(record_ids):
        return None, known
    return [i for i, erp_key in enumerate(record_ids) if erp_key in known], known


def _cursor_problems(ctx: RunContext, page: Page, looked: _LookedUp, positions: list[int]) -> list[RowProblem]:
    """One row error per row whose cursor value is no time, unless its mapping failed already; the row itself
    is loaded (where its mapping allows)."""
    if not positions:
        return []
    mapped = looked.mapped
    failed = {looked.position(problem.index) for problem in mapped.errors}
    erp_keys = dict(zip(map(looked.position, mapped.indexes), mapped.erp_keys, strict=True))
    cursor = ctx.spec.source.cursor_field or ""
    index = _cursor_index(page.fields, cursor)
    assert index is not None
    record_ids = page.record_ids if len(page.record_ids) == len(page.rows) else [None] * len(page.rows)
    return [RowProblem(i, record_ids[i] or erp_keys.get(i), cursor,
                       f"the cursor value {page.rows[i][index]!r} is not a time (YYYY-MM-DD HH:MM:SS); the row "
                       "was loaded, but its value does not move the watermark")
            for i in positions if i not in failed]


def _compare(looked: _LookedUp, stats: RunStats) -> _Changes:
    """Classify the mapped rows against their bindings (counted into `stats`): unchanged, inserted or updated."""
    changes = _Changes()
    add_values, add_binding, add_key = changes.values.append, changes.bindings.append, changes.keys.append
    known, sources, mapped = looked.known, looked.sources, looked.mapped
    for values, key, key_text, row_hash, erp_key in zip(
        mapped.values, mapped.keys, mapped.key_texts, mapped.hashes, mapped.erp_keys, strict=True
    ):
        previous = known.get(erp_key)
        source = sources[erp_key] if sources is not None else None
        if previous == row_hash:
            stats.unchanged += 1
            if source is not None:
                changes.refreshed.append((erp_key, source))
            continue
        if not previous:  # no binding, or a tombstone: the ERP record is new again
            stats.inserted += 1
        else:
            stats.updated += 1
        add_values(values)
        add_binding((erp_key, key_text, row_hash, source))
        add_key(key)
    return changes


def _settle_conflicts(ctx: RunContext, conn: Any, changes: _Changes, known: dict[str, str | None],
                      now: datetime) -> tuple[_Changes, int]:
    """Two-way: the changes the ERP's values win (`two_way.conflicts`), and the number of conflicts."""
    kept, conflicts = conflicts_of_page.settle(ctx, conn, changes.values, changes.bindings, changes.keys, known, now)
    return _Changes([changes.values[i] for i in kept], [changes.bindings[i] for i in kept],
                    [changes.keys[i] for i in kept], changes.refreshed), conflicts


def _write_page(ctx: RunContext, conn: Any, changes: _Changes, known: dict[str, str | None], stats: RunStats,
                now: datetime, *, assume_new: bool) -> None:
    if changes.values:
        if assume_new:
            _write_assumed_new(ctx, conn, changes, stats, now)
        else:
            _write_changed(ctx, conn, changes, known, stats, now)
        bindings.keep_statistics(conn)  # a first load's bindings have none until autovacuum comes
    if changes.refreshed:
        bindings.set_source_hashes(conn, ctx.integration_id, changes.refreshed)


def _record_problems(ctx: RunContext, conn: Any, problems: list[RowProblem], page_number: int,
                     now: datetime) -> None:
    if problems:
        conn.execute(insert(ROW_ERRORS), [
            {"integration_id": ctx.integration_id, "run_id": ctx.run_id, "page": page_number,
             "erp_key": problem.erp_key, "field": problem.field, "code": "ROW_MAPPING_FAILED",
             "reason": problem.reason, "created_at": now}
            for problem in problems
        ])


def _write_changed(ctx: RunContext, conn: Any, changes: _Changes, known: dict[str, str | None],
                   stats: RunStats, now: datetime) -> None:
    """The changed rows into the target and their bindings (a tombstone's binding is updated, and so cleared).
    During a first load into a table that had rows, a page none of whose changed rows is bound is counted
    against the target, as `_write_assumed_new` does."""
    new = [b for b in changes.bindings if known.get(b[0]) is None]
    adopting = ctx.adopting and len(new) == len(changes.bindings)
    present = ctx.upserter.count_keys(conn, changes.keys) if adopting else 0
    written = ctx.upserter.upsert(conn, changes.values)
    if adopting:
        _count_adopted(stats, len(changes.values), present, written)
    bindings.insert_new(conn, ctx.integration_id, new, now)
    bindings.upsert(conn, ctx.integration_id, [b for b in changes.bindings if known.get(b[0]) is not None], now)


def _write_assumed_new(ctx: RunContext, conn: Any, changes: _Changes, stats: RunStats, now: datetime) -> None:
    """Rows assumed new, inserted without lookups, the bindings first (a key bound after all costs least there);
    `_AlreadyBound` when they were not all new. Into a table that had rows when the first load began, the rows
    already there are counted (one query) and upserted: equal ones are unchanged, others updated."""
    if not bindings.insert_absent(conn, ctx.integration_id, changes.bindings, now):
        raise _AlreadyBound
    if ctx.target_empty:
        if not ctx.upserter.insert_absent(conn, changes.values):
            raise _AlreadyBound
        return
    present = ctx.upserter.count_keys(conn, changes.keys)
    _count_adopted(stats, len(changes.values), present, ctx.upserter.upsert(conn, changes.values))


def _count_adopted(stats: RunStats, rows: int, present: int, written: int) -> None:
    """Of `rows` counted as inserted (distinct keys), `present` were in the target already: the upsert rewrote
    `written` rows, the new ones and those that differed (updated); the rest were equal (unchanged)."""
    updated = written - (rows - present)
    stats.inserted -= present
    stats.updated += updated
    stats.unchanged += present - updated
