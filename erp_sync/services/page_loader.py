"""Loading one page: map the rows, compare them with their bindings, and write what changed.

Everything a page writes commits in one transaction: the target upsert, the bindings, the row errors, the run's
counters and the lease renewal (which is also the fencing check). If any of it fails, none of it happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert

from erp_sync.connectors.base import Page
from erp_sync.db import bindings
from erp_sync.db.models import CONFLICTS, ROW_ERRORS
from erp_sync.db.runs import Lease, add_counts, renew_lease
from erp_sync.db.target import Upserter
from erp_sync.domain.integration import IntegrationSpec
from erp_sync.domain.mapping import MappingPlan
from erp_sync.domain.run import RunStats
from erp_sync.services.record_versions import store_page_versions
from erp_sync.services.seen_keys import SeenKeys


@dataclass
class PageContext:
    """What every page of one run shares."""

    engine: Engine
    spec: IntegrationSpec
    integration_id: int
    run_id: int
    lease: Lease
    lease_ttl: timedelta
    plan: MappingPlan
    upserter: Upserter
    dry_run: bool
    track_seen: bool
    assume_new: bool = False  # no bindings when the run began (a first load), until a page proves otherwise
    target_empty: bool = False  # nor target rows
    seen: SeenKeys = field(default_factory=SeenKeys)  # ERP keys read, while track_seen
    max_cursor: str | None = None


class _AlreadyBound(Exception):
    """A page written as all-new met a key that had a binding or a target row: it is rolled back and redone."""


def _cursor_index(fields: tuple[str, ...], cursor_field: str | None) -> int | None:
    if not cursor_field:
        return None
    wanted = cursor_field.lower()
    for index, name in enumerate(fields):
        lowered = name.lower()
        if lowered == wanted or lowered.rsplit(".", 1)[-1] == wanted.rsplit(".", 1)[-1]:
            return index
    return None


def _page_max_cursor(page: Page, index: int | None) -> str | None:
    if index is None or not page.rows:
        return None
    try:
        top = max(map(itemgetter(index), page.rows))
    except IndexError:  # a short row: it has no cursor value
        top = None
    if top is not None and top[:4] not in ("", "1899"):
        return top  # the largest of all is not an empty value, so it is the largest non-empty one too
    values = [row[index] for row in page.rows if len(row) > index and row[index][:4] not in ("", "1899")]
    return max(values) if values else None


def load_page(ctx: PageContext, page: Page, now: datetime) -> RunStats:
    """Skip, map, classify and write one page in one transaction; returns the page's counts.

    When every row carries its ERP record id (SoftOne browsers: ZOOMINFO), a row whose source hash equals its
    binding's is unchanged and is not mapped at all; the others are mapped and compared by their value hash.
    While `ctx.assume_new` holds (the integration had no bindings when the run began: a first load), nothing is
    looked up: the rows are written as new and the writes prove it. The first page that meets a key already
    bound (or, where the target was empty too, already in the target) is rolled back and redone the careful
    way, as is every page after it."""
    if ctx.assume_new and not ctx.dry_run:
        try:
            return _load_page(ctx, page, now, assume_new=True)
        except _AlreadyBound:
            ctx.assume_new = False
    return _load_page(ctx, page, now, assume_new=False)


def _load_page(ctx: PageContext, page: Page, now: datetime, *, assume_new: bool) -> RunStats:
    bound = ctx.plan.bind(page.fields)
    stats = RunStats(pages=1, fetched=len(page.rows))
    cursor = _page_max_cursor(page, _cursor_index(page.fields, ctx.spec.source.cursor_field))
    if cursor and (ctx.max_cursor is None or cursor > ctx.max_cursor):
        ctx.max_cursor = cursor
    record_ids = page.record_ids
    skippable = bool(record_ids) and len(record_ids) == len(page.rows) and all(record_ids)
    if ctx.track_seen and skippable:
        ctx.seen.update(record_ids)  # type: ignore[arg-type]

    # Hashing and mapping need no database, so they happen before the page's transaction: on SQLite that
    # transaction holds the database's one write lock (BEGIN IMMEDIATE), which other runs and the API wait for.
    # Only rows whose source hash the bindings do not know yet are mapped, so that case maps inside.
    source_hashes = bound.source_hashes(page.rows) if skippable else None
    mapped = bound.map_rows(page.rows, record_ids) if assume_new or not skippable else None
    with ctx.engine.begin() as conn:
        sources: dict[str, str] | None = None
        known: dict[str, str | None] = {}
        if skippable and assume_new:
            sources = dict(zip(record_ids, source_hashes, strict=True))  # type: ignore[arg-type]
        elif skippable:
            rows, ids, sources, known = _changed_at_source(
                ctx, conn, page.rows, record_ids, source_hashes)  # type: ignore[arg-type]
            stats.unchanged = len(page.rows) - len(rows)
            mapped = bound.map_rows(rows, ids)
        assert mapped is not None
        stats.errors = len(mapped.errors)
        if not skippable:
            if not assume_new:
                known = bindings.hashes_for(conn, ctx.integration_id, mapped.erp_keys)  # type: ignore[assignment]
            if ctx.track_seen:
                ctx.seen.update(mapped.erp_keys)
                ctx.seen.update(problem.erp_key for problem in mapped.errors if problem.erp_key)
        changed_values: list[tuple[Any, ...]] = []
        changed_bindings: list[tuple[str, str, str, str | None]] = []
        changed_keys: list[tuple[Any, ...]] = []
        refreshed: list[tuple[str, str]] = []
        for values, key, key_text, row_hash, erp_key in zip(
            mapped.values, mapped.keys, mapped.key_texts, mapped.hashes, mapped.erp_keys, strict=True
        ):
            previous = known.get(erp_key)
            source = sources[erp_key] if sources is not None else None
            if previous == row_hash:
                stats.unchanged += 1
                if source is not None:
                    refreshed.append((erp_key, source))
                continue
            if previous is None:
                stats.inserted += 1
            else:
                stats.updated += 1
            changed_values.append(values)
            changed_bindings.append((erp_key, key_text, row_hash, source))
            changed_keys.append(key)

        if ctx.spec.direction == "two_way" and changed_keys and known:
            changed_values, changed_bindings, conflicts = _resolve_conflicts(
                ctx, conn, changed_values, changed_bindings, changed_keys, known, now)
            stats.conflicts += conflicts

        if not ctx.dry_run:
            if changed_values:
                _write_changed(ctx, conn, changed_values, changed_bindings, known, now, assume_new=assume_new)
            if refreshed:
                bindings.set_source_hashes(conn, ctx.integration_id, refreshed)
            if mapped.errors:
                conn.execute(insert(ROW_ERRORS), [
                    {"integration_id": ctx.integration_id, "run_id": ctx.run_id, "page": page.number,
                     "erp_key": problem.erp_key, "field": problem.field, "code": "ROW_MAPPING_FAILED",
                     "reason": problem.reason, "created_at": now}
                    for problem in mapped.errors
                ])
        store_page_versions(ctx, conn, page)
        add_counts(conn, ctx.run_id, now, stats.as_dict())
        renew_lease(conn, ctx.lease, now, ctx.lease_ttl)
    return stats


def _write_changed(ctx: PageContext, conn: Any, values: list[tuple[Any, ...]],
                   binding_rows: list[tuple[str, str, str, str | None]], known: dict[str, str | None],
                   now: datetime, *, assume_new: bool) -> None:
    """The changed rows into the target and their bindings. Rows assumed new are inserted without lookups, the
    bindings first (a key bound after all costs least there); `_AlreadyBound` when they were not all new."""
    if not assume_new:
        ctx.upserter.upsert(conn, values)
        bindings.insert_new(conn, ctx.integration_id, [b for b in binding_rows if known.get(b[0]) is None], now)
        bindings.upsert(conn, ctx.integration_id, [b for b in binding_rows if known.get(b[0]) is not None], now)
        return
    if not bindings.insert_absent(conn, ctx.integration_id, binding_rows, now):
        raise _AlreadyBound
    if not ctx.target_empty:
        ctx.upserter.upsert(conn, values)
    elif not ctx.upserter.insert_absent(conn, values):
        raise _AlreadyBound


_AtSource = tuple[list[Sequence[str]], list[str], dict[str, str], dict[str, str | None]]


def _changed_at_source(ctx: PageContext, conn: Any, rows: list[Sequence[str]], record_ids: list[str],
                       source_hashes: list[str]) -> _AtSource:
    """The rows whose ERP text changed since their last import (or that have no binding yet), their record ids,
    their source hashes by record id, and the stored row hash of each (None: no binding)."""
    known = bindings.stale_sources(conn, ctx.integration_id, record_ids, source_hashes)
    if len(known) < len(rows):
        todo = [i for i, erp_key in enumerate(record_ids) if erp_key in known]
        rows = [rows[i] for i in todo]
        record_ids = [record_ids[i] for i in todo]
        source_hashes = [source_hashes[i] for i in todo]
    return rows, record_ids, dict(zip(record_ids, source_hashes, strict=True)), known


def _resolve_conflicts(ctx: PageContext, conn: Any, values: list[tuple[Any, ...]],
                       binding_rows: list[tuple[str, str, str, str | None]], keys: list[tuple[Any, ...]],
                       known: dict[str, str | None], now: datetime) -> tuple[list[Any], list[Any], int]:
    """Two-way: an ERP change to a row that was also edited locally is a conflict, settled by the policy."""
    local_rows = ctx.upserter.fetch_rows(conn, keys)
    kept_values: list[tuple[Any, ...]] = []
    kept_bindings: list[tuple[str, str, str, str | None]] = []
    conflicts = 0
    policy = ctx.spec.conflict_policy
    columns = ctx.plan.columns
    for row_values, binding, key in zip(values, binding_rows, keys, strict=True):
        erp_key = binding[0]
        local = local_rows.get(key)
        previous = known.get(erp_key)
        if local is None or previous is None:
            kept_values.append(row_values)
            kept_bindings.append(binding)
            continue
        local_hash = ctx.plan.hash_values(ctx.plan.local_values_from_row(local))
        if local_hash == previous:
            kept_values.append(row_values)
            kept_bindings.append(binding)
            continue
        conflicts += 1
        erp_wins = policy == "erp_wins" or (policy == "newest_wins" and _erp_is_newer(ctx, local, row_values))
        if erp_wins:
            kept_values.append(row_values)
            kept_bindings.append(binding)
        if not ctx.dry_run:
            conn.execute(insert(CONFLICTS).values(
                integration_id=ctx.integration_id, run_id=ctx.run_id, erp_key=erp_key, local_key=binding[1],
                policy=policy, resolution="erp_won" if erp_wins else "local_won",
                local_values={c: _jsonable(local.get(c)) for c in columns},
                erp_values={c: _jsonable(v) for c, v in zip(columns, row_values, strict=True)}, created_at=now))
    return kept_values, kept_bindings, conflicts


def _erp_is_newer(ctx: PageContext, local: Any, row_values: tuple[Any, ...]) -> bool:
    modified_column = ctx.spec.options.modified_column
    local_modified = local.get(modified_column) if modified_column else None
    cursor_target = next((m.target for m in ctx.spec.mappings
                          if ctx.spec.source.cursor_field and m.source.lower().rsplit(".", 1)[-1]
                          == ctx.spec.source.cursor_field.lower().rsplit(".", 1)[-1]), None)
    erp_modified = row_values[ctx.plan.columns.index(cursor_target)] if cursor_target else None
    if local_modified is None or erp_modified is None:
        return True
    if isinstance(local_modified, datetime) and local_modified.tzinfo is None:
        local_modified = local_modified.replace(tzinfo=UTC)
    if isinstance(local_modified, datetime) and not isinstance(erp_modified, datetime):
        # a date without a time (NAV's Last_Date_Modified): the ERP wins unless the local change is on a later day
        zone = ZoneInfo(ctx.spec.connection.server_timezone)
        return bool(erp_modified >= local_modified.astimezone(zone).date())
    return bool(erp_modified >= local_modified)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
