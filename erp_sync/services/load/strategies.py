"""How a page is looked up and written, one strategy per mode, chosen once per page (`strategy_for`).

- `FirstLoad`: the integration had no bindings when the run began (`RunProgress.assume_new`) and this is no dry
  run. Nothing is looked up: the rows are written as new, their bindings first, and the writes prove it. A page
  that meets a key already bound (or, where the target was empty too, already in the target) raises
  `AlreadyBound`: its transaction is rolled back, and it and every page after it are loaded another way.
- `Resync`: every row carries its ERP record id (SoftOne browsers: ZOOMINFO). The rows' source hashes are compared
  with their bindings' in the database (`bindings.stale_sources`); only rows that changed at the source, or have no
  live binding, are mapped.
- `Careful`: rows without record ids: every row is mapped, and their bindings' row hashes looked up by ERP key.

A strategy is built before the page's transaction (hashing and mapping need no database: on SQLite that
transaction holds the database's one write lock, which other runs and the API wait for); `look_up` and `write`
run inside it. The steps every page shares are `page.load_page`'s.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import cast

from sqlalchemy import Connection

from erp_sync.connectors.base import Page
from erp_sync.db import bindings
from erp_sync.domain.mapping import BoundMapping
from erp_sync.domain.run import RunStats
from erp_sync.services.load.changes import Changes, LookedUp
from erp_sync.services.run.context import RunContext, RunProgress


class AlreadyBound(Exception):
    """A page written as all-new met a key that had a binding or a target row: it is rolled back and redone."""


def complete_record_ids(page: Page) -> list[str] | None:
    """The page's ERP record ids when every row has one, else None."""
    ids = page.record_ids
    return cast(list[str], ids) if ids and len(ids) == len(page.rows) and all(ids) else None


class LoadStrategy(ABC):
    """How one page is looked up and written; `__init__` does the work that needs no database."""

    def __init__(self, ctx: RunContext, bound: BoundMapping, page: Page, record_ids: list[str] | None) -> None:
        self.ctx = ctx

    @abstractmethod
    def look_up(self, conn: Connection) -> LookedUp:
        """The page's rows to compare, and what their bindings know of them."""

    @abstractmethod
    def write(self, conn: Connection, changes: Changes, known: dict[str, str | None], stats: RunStats,
              now: datetime) -> None:
        """The changed rows into the target and their bindings (`stats` corrected where the target had them)."""


def choose(assume_new: bool, dry_run: bool, record_ids: list[str] | None) -> type[LoadStrategy]:
    """The strategy of a page: a first load's while nothing proved otherwise, else by whether rows carry ids."""
    if assume_new and not dry_run:
        return FirstLoad
    return Resync if record_ids else Careful


def strategy_for(ctx: RunContext, progress: RunProgress, page: Page, record_ids: list[str] | None) -> LoadStrategy:
    """The page's strategy, built (its rows hashed or mapped) before the page's transaction."""
    strategy = choose(progress.assume_new, ctx.dry_run, record_ids)
    return strategy(ctx, ctx.plan.bind(page.fields), page, record_ids)


class FirstLoad(LoadStrategy):
    """All rows mapped and written as new, with no lookups; `AlreadyBound` when they were not all new."""

    def __init__(self, ctx: RunContext, bound: BoundMapping, page: Page, record_ids: list[str] | None) -> None:
        super().__init__(ctx, bound, page, record_ids)
        sources = dict(zip(record_ids, bound.source_hashes(page.rows), strict=True)) if record_ids else None
        self._looked = LookedUp(bound.map_rows(page.rows, page.record_ids), None, sources, {})

    def look_up(self, conn: Connection) -> LookedUp:
        return self._looked

    def write(self, conn: Connection, changes: Changes, known: dict[str, str | None], stats: RunStats,
              now: datetime) -> None:
        """The bindings first (a key bound after all costs least there). Into a table that had rows when the first
        load began, the rows already there are counted (one query) and upserted: equal ones are unchanged, others
        updated."""
        ctx = self.ctx
        if not bindings.insert_absent(conn, ctx.integration_id, changes.bindings, now):
            raise AlreadyBound
        if ctx.target_empty:
            if not ctx.upserter.insert_absent(conn, changes.values):
                raise AlreadyBound
            return
        present = ctx.upserter.count_keys(conn, changes.keys)
        count_adopted(stats, len(changes.values), present, ctx.upserter.upsert(conn, changes.values))


class _LookedUpByBindings(LoadStrategy):
    """A page compared with the bindings it has: the changed rows upserted, their bindings written."""

    def write(self, conn: Connection, changes: Changes, known: dict[str, str | None], stats: RunStats,
              now: datetime) -> None:
        """A tombstone's binding is updated, and so cleared. During a first load into a table that had rows, a
        page none of whose changed rows is bound is counted against the target, as `FirstLoad` does."""
        ctx = self.ctx
        new = [b for b in changes.bindings if known.get(b[0]) is None]
        adopting = ctx.adopting and len(new) == len(changes.bindings)
        present = ctx.upserter.count_keys(conn, changes.keys) if adopting else 0
        written = ctx.upserter.upsert(conn, changes.values)
        if adopting:
            count_adopted(stats, len(changes.values), present, written)
        bindings.insert_new(conn, ctx.integration_id, new, now)
        bindings.upsert(conn, ctx.integration_id, [b for b in changes.bindings if known.get(b[0]) is not None], now)


class Resync(_LookedUpByBindings):
    """Rows with record ids: unchanged ones recognised in the database by their source hash and never mapped."""

    def __init__(self, ctx: RunContext, bound: BoundMapping, page: Page, record_ids: list[str] | None) -> None:
        super().__init__(ctx, bound, page, record_ids)
        assert record_ids is not None
        self._bound, self._rows, self._ids = bound, page.rows, record_ids
        self._hashes = bound.source_hashes(page.rows)

    def look_up(self, conn: Connection) -> LookedUp:
        """Only the rows whose ERP text changed since their last import, or that have no live binding, are mapped
        (inside the transaction: which they are is known only there)."""
        known = bindings.stale_sources(conn, self.ctx.integration_id, self._ids, self._hashes)
        if len(known) == len(self._ids):
            positions, rows, ids, hashes = None, self._rows, self._ids, self._hashes
        else:
            positions = [i for i, erp_key in enumerate(self._ids) if erp_key in known]
            rows, ids = [self._rows[i] for i in positions], [self._ids[i] for i in positions]
            hashes = [self._hashes[i] for i in positions]
        sources = dict(zip(ids, hashes, strict=True))
        return LookedUp(self._bound.map_rows(rows, ids), positions, sources, known, len(self._rows) - len(rows))


class Careful(_LookedUpByBindings):
    """Rows without record ids: all mapped, their bindings' row hashes looked up by ERP key."""

    def __init__(self, ctx: RunContext, bound: BoundMapping, page: Page, record_ids: list[str] | None) -> None:
        super().__init__(ctx, bound, page, record_ids)
        self._mapped = bound.map_rows(page.rows, page.record_ids)

    def look_up(self, conn: Connection) -> LookedUp:
        found: dict[str, str | None] = {}
        found.update(bindings.hashes_for(conn, self.ctx.integration_id, self._mapped.erp_keys))
        return LookedUp(self._mapped, None, None, found)


def count_adopted(stats: RunStats, rows: int, present: int, written: int) -> None:
    """Of `rows` counted as inserted (distinct keys), `present` were in the target already: the upsert rewrote
    `written` rows, the new ones and those that differed (updated); the rest were equal (unchanged)."""
    updated = written - (rows - present)
    stats.inserted -= present
    stats.updated += updated
    stats.unchanged += present - updated
