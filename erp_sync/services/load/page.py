"""Loading one page: map the rows, compare them with their bindings, and write what changed.

Everything a page writes commits in one transaction: the target upsert, the bindings, the row errors, the
conflicts, the record versions, the run's counters and the lease renewal (which is also the fencing check). If any
of it fails, none of it happened. How the page is looked up and written is its strategy's (`strategies`: first
load, re-sync or careful); the steps here are every page's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from erp_sync.connectors.base import Page
from erp_sync.db import bindings
from erp_sync.db.findings import RowError, record_row_errors
from erp_sync.db.runs import add_counts, renew_lease
from erp_sync.domain.mapping import MappedRows, RowProblem
from erp_sync.domain.run import RunStats
from erp_sync.services.load.changes import Changes, compare, settle_conflicts
from erp_sync.services.load.cursor import cursor_problems, note_cursor
from erp_sync.services.load.strategies import AlreadyBound, LoadStrategy, complete_record_ids, strategy_for
from erp_sync.services.run.context import RunContext, RunProgress
from erp_sync.services.two_way.versions import store_page_versions


def load_page(ctx: RunContext, progress: RunProgress, page: Page, now: datetime) -> RunStats:
    """Skip, map, classify and write one page in one transaction; returns the page's counts. A first load's page
    that meets a key already bound is rolled back and redone another way, as is every page after it."""
    try:
        return _load(ctx, progress, page, now)
    except AlreadyBound:  # only a first load's page raises it
        progress.assume_new = False
        return _load(ctx, progress, page, now)


def _load(ctx: RunContext, progress: RunProgress, page: Page, now: datetime) -> RunStats:
    stats = RunStats(pages=1, fetched=len(page.rows))
    bad_cursors = note_cursor(ctx, progress, page)
    record_ids = complete_record_ids(page)
    if ctx.track_seen and record_ids:
        progress.seen.update(record_ids)
    strategy = strategy_for(ctx, progress, page, record_ids)
    with ctx.engine.begin() as conn:
        looked = strategy.look_up(conn)
        if ctx.track_seen and not record_ids:
            _note_seen(progress, looked.mapped)
        stats.unchanged = looked.unchanged
        problems = [*looked.mapped.errors, *cursor_problems(ctx, page, looked, bad_cursors)]
        stats.errors = len(problems)
        changes = compare(looked, stats)
        if ctx.spec.direction == "two_way" and changes.keys and looked.known:
            changes, stats.conflicts = settle_conflicts(ctx, conn, changes, looked.known, now)
        if not ctx.dry_run:
            _write(ctx, strategy, conn, changes, looked.known, stats, now)
            record_row_errors(conn, ctx.integration_id, ctx.run_id, _row_errors(problems, page.number), now)
        store_page_versions(ctx, conn, page)
        add_counts(conn, ctx.run_id, now, stats.as_dict())
        renew_lease(conn, ctx.lease, now, ctx.lease_ttl)
    return stats


def _note_seen(progress: RunProgress, mapped: MappedRows) -> None:
    """A page without record ids: the ERP keys read are those its rows mapped to, failed rows' included."""
    progress.seen.update(mapped.erp_keys)
    progress.seen.update(problem.erp_key for problem in mapped.errors if problem.erp_key)


def _write(ctx: RunContext, strategy: LoadStrategy, conn: Connection, changes: Changes,
           known: dict[str, str | None], stats: RunStats, now: datetime) -> None:
    """The strategy's writes, then the bindings' statistics and the source hashes that alone changed."""
    if changes.values:
        strategy.write(conn, changes, known, stats, now)
        bindings.keep_statistics(conn)  # a first load's bindings have none until autovacuum comes
    if changes.refreshed:
        bindings.set_source_hashes(conn, ctx.integration_id, changes.refreshed)


def _row_errors(problems: list[RowProblem], page_number: int) -> list[RowError]:
    return [RowError("ROW_MAPPING_FAILED", problem.reason, problem.erp_key, problem.field, page_number)
            for problem in problems]
