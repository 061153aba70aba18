"""Bindings: which ERP record each local row came from, and the hash of the values last synced.

One `erp_sync_bindings` row per (integration, ERP key). The import reads a page's hashes with one query, writes
the changed rows' bindings with one bulk upsert (which clears any push state: the ERP's values now win) and streams
the keys for deletion scans. Each binding keeps two hashes: `row_hash` of the mapped values (what two-way sync
compares local rows with) and `source_hash` of the ERP's own text under the mapping that read it (so an unchanged
ERP row is recognised before it is mapped); a push, which changes the ERP row, forgets the source hash.
A binding whose ERP record a complete scan no longer found is kept as a *tombstone* (`erp_deleted_at` set, source
hash forgotten): it is what stops a deleted record's local row from being pushed back as a new record. Lookups
report its row hash as TOMBSTONED, so a record that comes back is imported again, and the import's upsert clears
the tombstone.
Two-way sync uses the small operations at the end: a refused push kept pending with the ERP's message, and lookups
by local key (an accepted push is an ordinary upsert, which clears the push state). Every function runs inside
the caller's transaction. The page lookups and bulk writes are the dialect's bulk writer's (`db.writers`: IN-lists
and multi-row VALUES on SQLite; on PostgreSQL JSON-array lookups, a merge fed by JSON arrays for big pages and a
COPY of new bindings); what is written here is the same for every dialect (SQLAlchemy Core).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy import Connection

from erp_sync.db.models import BINDINGS
from erp_sync.db.writers import writer_for
from erp_sync.db.writers.base import LIVE_ROW_HASH, BindingWrite, last_per_key
from erp_sync.db.writers.base import TOMBSTONED as TOMBSTONED  # lookups' row hash of a tombstone

PENDING = "pending"


class BindingRow(NamedTuple):
    erp_key: str
    local_key: str
    row_hash: str
    synced_at: datetime
    push_state: str | None
    push_error: str | None
    reference: str | None
    erp_deleted_at: datetime | None


def _chunks(conn: Connection, items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """Slices of `items` small enough for one statement's parameters (SQLite's bound-variable limit), beside one
    other parameter."""
    return writer_for(conn).chunks(conn, items, 1)


def _by_erp_key(conn: Connection, column: str, integration_id: int, erp_keys: Sequence[str]) -> dict[str, str]:
    return writer_for(conn).by_erp_key(conn, column, integration_id, erp_keys) if erp_keys else {}


def hashes_for(conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> dict[str, str]:
    """The stored row hash per ERP key, for the keys that have a binding (TOMBSTONED for a tombstone; one query
    per page)."""
    return _by_erp_key(conn, LIVE_ROW_HASH, integration_id, erp_keys)


def stale_sources(conn: Connection, integration_id: int, erp_keys: Sequence[str],
                  source_hashes: Sequence[str]) -> dict[str, str | None]:
    """Of a page's (ERP key, source hash) pairs, those whose binding is missing or holds another source hash,
    with the binding's row hash (None: no binding, TOMBSTONED: a tombstone). The comparison runs in the database,
    one query per page, so the rows of an unchanged page never come back to Python."""
    if not erp_keys:
        return {}
    return writer_for(conn).stale_sources(conn, integration_id, erp_keys, source_hashes)


def local_keys_for(conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> dict[str, str]:
    """The local key per ERP key, for the keys that have a binding."""
    return _by_erp_key(conn, "local_key", integration_id, erp_keys)


def upsert(conn: Connection, integration_id: int, rows: Sequence[BindingWrite], synced_at: datetime) -> int:
    """Insert or update (erp_key, local_key, row_hash, source_hash) bindings as synced at `synced_at`; clears push
    state and keeps the reference. Returns the rows written."""
    return writer_for(conn).upsert_bindings(conn, integration_id, rows, synced_at) if rows else 0


def insert_new(conn: Connection, integration_id: int, rows: Sequence[BindingWrite], synced_at: datetime) -> int:
    """Bindings for ERP keys that have none: the caller looked them up in this transaction, under the run's lease.
    Big PostgreSQL pages are COPYed straight into the table (cheaper than the merge of `upsert`, which must test
    every row for a conflict: docs/performance.md#bindings-on-postgresql); elsewhere this is `upsert`. Returns the
    rows written."""
    return writer_for(conn).insert_new_bindings(conn, integration_id, rows, synced_at)


def any_bound(conn: Connection, integration_id: int) -> bool:
    """Whether the integration has any binding at all, tombstones included (none: its next run is a first load;
    a tombstone would make a first load's all-new page roll back and be redone)."""
    statement = sa.select(BINDINGS.c.erp_key).where(BINDINGS.c.integration_id == integration_id).limit(1)
    return conn.execute(statement).first() is not None


def insert_absent(conn: Connection, integration_id: int, rows: Sequence[BindingWrite], synced_at: datetime) -> bool:
    """Insert bindings for keys that are believed to have none, without looking them up first (a first load).
    Returns False when any of them had a binding after all; the transaction must then be rolled back (on
    PostgreSQL it is already aborted) and the rows written the careful way."""
    unique = last_per_key(rows)
    return writer_for(conn).insert_absent_bindings(conn, integration_id, unique, synced_at) if unique else True


def set_source_hashes(conn: Connection, integration_id: int, rows: Sequence[tuple[str, str]]) -> int:
    """Store (erp_key, source_hash) for bindings whose values did not change but whose source hash did (a first
    re-sync after an upgrade or a mapping change); nothing else of the binding, its push state included, moves."""
    return writer_for(conn).set_source_hashes(conn, integration_id, rows)


def keep_statistics(conn: Connection) -> None:
    """PostgreSQL: ANALYZE the bindings once they hold rows but have no statistics (a first load, before
    autovacuum gets to them), for the statements still planned on them (the tombstones' and deletes' key lists; the
    page lookups probe the primary key whatever the statistics). A step of its own, after a page's bindings are
    written; checked once per engine. The statistics it takes know one page of one integration, so they must not
    outlive the run: `refresh_statistics` at the run's end."""
    writer_for(conn).keep_statistics(conn)


def refresh_statistics(conn: Connection, written: int, *, first_load: bool) -> None:
    """PostgreSQL, a run's end: ANALYZE the bindings after an integration's first load that wrote `written` (> 0)
    of them, or after any run that wrote more than a tenth of the rows the statistics know of. Statistics that
    count one page of the table, or lack an integration, say that integration has a row or two, and every plan
    that counts on them stays wrong until autovacuum analyzes the table again (a lookup that trusted them scanned
    all the integration's bindings for every key: docs/performance.md#bindings-on-postgresql)."""
    writer_for(conn).refresh_statistics(conn, written, first_load=first_load)


def delete(conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> int:
    """Delete the bindings of these ERP keys; returns how many went."""
    return writer_for(conn).delete_bindings(conn, integration_id, erp_keys) if erp_keys else 0


def tombstone(conn: Connection, integration_id: int, erp_keys: Sequence[str], when: datetime) -> int:
    """Mark these bindings' ERP records as deleted at `when` (their local rows are then never pushed as new ones)
    and forget their source hashes, so that a record coming back is mapped again; returns how many were found."""
    marked = 0
    for chunk in _chunks(conn, list(erp_keys)):
        statement = (sa.update(BINDINGS).where(BINDINGS.c.integration_id == integration_id,
                                               BINDINGS.c.erp_key.in_(chunk))
                     .values(erp_deleted_at=when, source_hash=None, push_state=None, push_error=None))
        marked += conn.execute(statement).rowcount
    return marked


def _of(integration_id: int, live_only: bool) -> Any:
    where = BINDINGS.c.integration_id == integration_id
    return sa.and_(where, BINDINGS.c.erp_deleted_at.is_(None)) if live_only else where


def iter_erp_keys(conn: Connection, integration_id: int, batch_size: int = 5000, *,
                  live_only: bool = False) -> Iterator[str]:
    """Every bound ERP key of an integration (`live_only`: but the tombstones) in key order, streamed; do not
    change bindings while iterating."""
    statement = (sa.select(BINDINGS.c.erp_key).where(_of(integration_id, live_only))
                 .order_by(BINDINGS.c.erp_key).execution_options(yield_per=batch_size))
    yield from conn.execute(statement).scalars()


def count(conn: Connection, integration_id: int, *, live_only: bool = False) -> int:
    """How many bindings the integration has (`live_only`: not counting tombstones)."""
    statement = sa.select(sa.func.count()).select_from(BINDINGS).where(_of(integration_id, live_only))
    return conn.execute(statement).scalar_one()


# --- two-way: small operations ---

def _this(integration_id: int, erp_key: str) -> Any:
    return sa.and_(BINDINGS.c.integration_id == integration_id, BINDINGS.c.erp_key == erp_key)


def _rows(conn: Connection, where: Any) -> list[BindingRow]:
    columns = [BINDINGS.c[name] for name in BindingRow._fields]
    return [BindingRow(*row) for row in conn.execute(sa.select(*columns).where(where).order_by(BINDINGS.c.erp_key))]


def mark_failed(conn: Connection, integration_id: int, erp_key: str, error: str) -> bool:
    """The ERP refused the push: keep it pending, with the reason, so nothing is lost."""
    statement = (sa.update(BINDINGS).where(_this(integration_id, erp_key))
                 .values(push_state=PENDING, push_error=error[:4000]))
    return conn.execute(statement).rowcount == 1


def find_by_local_key(conn: Connection, integration_id: int, local_keys: Sequence[str]) -> dict[str, BindingRow]:
    """The binding per local key, for the local keys that have one; a live binding wins over a tombstone of the
    same local key (the ERP deleted a record, then made another with the same key)."""
    found: dict[str, BindingRow] = {}
    for chunk in _chunks(conn, list(local_keys)):
        where = sa.and_(BINDINGS.c.integration_id == integration_id, BINDINGS.c.local_key.in_(chunk))
        rows = sorted(_rows(conn, where), key=lambda row: row.erp_deleted_at is None)  # tombstones first
        found.update((row.local_key, row) for row in rows)
    return found
