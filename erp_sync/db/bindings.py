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
the caller's transaction; the bulk ones follow the same speed rules as the target upsert (DBAPI writes: multi-row
VALUES on SQLite, executemany on PostgreSQL; for big PostgreSQL pages, bindings that exist are updated by one merge
statement fed by JSON arrays, see _MERGE_POSTGRES, and new ones are COPYed in).
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection

from erp_sync.db.bulk import (
    copy_in,
    driver_connection,
    execute,
    fetch_all,
    insert_rows,
    is_unique_violation,
    json_columns,
    run_many,
)
from erp_sync.db.models import BINDINGS

PENDING = "pending"
# The row hash that lookups report for a tombstoned binding (the CASE in _LIVE_ROW_HASH and _STALE_*): it matches no
# row, and it is not None.
TOMBSTONED = ""
_LIVE_ROW_HASH = "CASE WHEN erp_deleted_at IS NULL THEN row_hash ELSE '' END"
MERGE_THRESHOLD = 200
_COLUMNS = "(integration_id, erp_key, local_key, row_hash, source_hash, synced_at)"
_INTO = "INSERT INTO erp_sync_bindings " + _COLUMNS
_ON_CONFLICT = " ON CONFLICT (integration_id, erp_key) "
_INSERT = _INTO + " VALUES ({marks})" + _ON_CONFLICT
_REPLACE = (
    "DO UPDATE SET local_key = excluded.local_key, row_hash = excluded.row_hash, source_hash = excluded.source_hash, "
    "synced_at = excluded.synced_at, push_state = NULL, push_error = NULL, erp_deleted_at = NULL"
)
_UPSERT = _INSERT + _REPLACE
_UPSERT_SQLITE = _UPSERT.format(marks="?, ?, ?, ?, ?, ?")
_UPSERT_POSTGRES = _UPSERT.format(marks="%s, %s, %s, %s, %s, %s")
# Big PostgreSQL pages: one statement whose rows come from four JSON arrays, one per column. It beats COPY into a
# temp table + merge (the target's way) here: bindings are four short texts, so the COPY's per-value writes, its
# extra round trips and emptying the temp table at commit weigh more than parsing JSON
# (docs/performance.md#bindings-on-postgresql).
_MERGE_POSTGRES = _INTO + (  # noqa: S608 - constants only
    " SELECT %s::integer, erp_key, local_key, row_hash, source_hash, %s::timestamptz FROM ROWS FROM ("
    "jsonb_array_elements_text(%s::jsonb), jsonb_array_elements_text(%s::jsonb), "
    "jsonb_array_elements_text(%s::jsonb), jsonb_array_elements_text(%s::jsonb)) "
    "AS page(erp_key, local_key, row_hash, source_hash)"
) + _ON_CONFLICT + _REPLACE
_ANALYZED: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


class BindingRow(NamedTuple):
    erp_key: str
    local_key: str
    row_hash: str
    synced_at: datetime
    push_state: str | None
    push_error: str | None
    reference: str | None
    erp_deleted_at: datetime | None


def _postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def _chunks(conn: Connection, items: Sequence[Any], fixed: int) -> Iterator[Sequence[Any]]:
    """Slices of `items` small enough for SQLite's bound-variable limit, with `fixed` other parameters."""
    size = 10_000
    if not _postgres(conn):
        size = min(size, driver_connection(conn).getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - fixed)
    for start in range(0, len(items), size):
        yield items[start:start + size]


# PostgreSQL plans `erp_key = ANY(array)` or a join with the array as a scan of the table (per row, a search of the
# array) for tables it thinks small or lacks statistics for. A LATERAL subquery kept apart by OFFSET 0 is one index
# probe per key whatever the table's size; see also keep_statistics. The keys travel as one JSON text, which
# orjson writes far faster than psycopg binds a list as text[]. (`= ANY` of that array, a little faster on big
# tables, is planned as a seq scan comparing every key on small ones.) Figures:
# docs/performance.md#bindings-on-postgresql.
_LOOKUP_POSTGRES = (
    "SELECT b.erp_key, b.found FROM jsonb_array_elements_text(%s::jsonb) AS k(erp_key) CROSS JOIN LATERAL "
    "(SELECT erp_key, {column} AS found FROM erp_sync_bindings WHERE integration_id = %s AND erp_key = k.erp_key "
    "OFFSET 0) b"
)
_LOOKUP_SQLITE = "SELECT erp_key, {column} FROM erp_sync_bindings WHERE integration_id = ? AND erp_key IN ({marks})"
_STALE_POSTGRES = (
    "SELECT k.erp_key, b.row_hash FROM ROWS FROM (jsonb_array_elements_text(%s::jsonb), "
    "jsonb_array_elements_text(%s::jsonb)) AS k(erp_key, source_hash) LEFT JOIN LATERAL (SELECT CASE WHEN "
    "erp_deleted_at IS NULL THEN row_hash ELSE '' END AS row_hash, source_hash "
    "FROM erp_sync_bindings WHERE integration_id = %s AND erp_key = k.erp_key OFFSET 0) b ON TRUE "
    "WHERE b.source_hash IS DISTINCT FROM k.source_hash"
)
_STALE_SQLITE = (
    "SELECT json_extract(k.value, '$[0]'), CASE WHEN b.erp_deleted_at IS NULL THEN b.row_hash ELSE '' END "
    "FROM json_each(?) AS k LEFT JOIN erp_sync_bindings AS b "
    "ON b.integration_id = ? AND b.erp_key = json_extract(k.value, '$[0]') "
    "WHERE b.source_hash IS NOT json_extract(k.value, '$[1]')"
)
_SET_SOURCE = "UPDATE erp_sync_bindings SET source_hash = {p} WHERE integration_id = {p} AND erp_key = {p}"
_DELETE_POSTGRES = ("DELETE FROM erp_sync_bindings AS b USING unnest(%s::text[]) AS k(erp_key) "
                    "WHERE b.integration_id = %s AND b.erp_key = k.erp_key")
_DELETE_SQLITE = "DELETE FROM erp_sync_bindings WHERE integration_id = ? AND erp_key IN ({marks})"


def _by_erp_key(conn: Connection, column: str, integration_id: int, erp_keys: Sequence[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    if not erp_keys:
        return found
    if _postgres(conn):
        keys = orjson.dumps(list(erp_keys)).decode()
        found.update(fetch_all(conn, _LOOKUP_POSTGRES.format(column=column), [keys, integration_id]))
        return found
    for chunk in _chunks(conn, erp_keys, 1):
        sql = _LOOKUP_SQLITE.format(column=column, marks=", ".join("?" * len(chunk)))
        found.update(fetch_all(conn, sql, [integration_id, *chunk]))
    return found


def hashes_for(conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> dict[str, str]:
    """The stored row hash per ERP key, for the keys that have a binding (TOMBSTONED for a tombstone; one query
    per page)."""
    return _by_erp_key(conn, _LIVE_ROW_HASH, integration_id, erp_keys)


def stale_sources(conn: Connection, integration_id: int, erp_keys: Sequence[str],
                  source_hashes: Sequence[str]) -> dict[str, str | None]:
    """Of a page's (ERP key, source hash) pairs, those whose binding is missing or holds another source hash,
    with the binding's row hash (None: no binding, TOMBSTONED: a tombstone). The comparison runs in the database,
    one query per page, so the rows of an unchanged page never come back to Python."""
    if not erp_keys:
        return {}
    if _postgres(conn):
        params = [orjson.dumps(list(erp_keys)).decode(), orjson.dumps(list(source_hashes)).decode(), integration_id]
        return dict(fetch_all(conn, _STALE_POSTGRES, params))
    pairs = orjson.dumps(list(zip(erp_keys, source_hashes, strict=True))).decode()
    return dict(fetch_all(conn, _STALE_SQLITE, [pairs, integration_id]))


def local_keys_for(conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> dict[str, str]:
    """The local key per ERP key, for the keys that have a binding."""
    return _by_erp_key(conn, "local_key", integration_id, erp_keys)


def upsert(conn: Connection, integration_id: int, rows: Sequence[tuple[str, str, str, str | None]],
           synced_at: datetime) -> int:
    """Insert or update (erp_key, local_key, row_hash, source_hash) bindings as synced at `synced_at`; clears push
    state and keeps the reference. Returns the rows written."""
    if not rows:
        return 0
    stamp = _stamp(conn, synced_at)
    if not _postgres(conn):
        return insert_rows(conn, _UPSERT_SQLITE, _params(integration_id, rows, stamp))
    if len(rows) > MERGE_THRESHOLD:  # one merge cannot touch a row twice
        return execute(conn, _MERGE_POSTGRES, [integration_id, stamp, *json_columns(_last_per_key(rows))])
    return run_many(conn, _UPSERT_POSTGRES, _params(integration_id, rows, stamp))


def _stamp(conn: Connection, synced_at: datetime) -> Any:
    """`synced_at` as the dialect binds it for the executemany and merge paths."""
    stamp_of = BINDINGS.c.synced_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return stamp_of(synced_at) if stamp_of else synced_at


def _params(integration_id: int, rows: Sequence[tuple[str, str, str, str | None]],
            stamp: Any) -> list[tuple[Any, ...]]:
    return [(integration_id, erp_key, local_key, row_hash, source, stamp)
            for erp_key, local_key, row_hash, source in rows]


def _last_per_key(rows: Sequence[tuple[str, str, str, str | None]]) -> list[tuple[str, str, str, str | None]]:
    """The rows with each ERP key once: a key twice on one page keeps its last row."""
    return list({row[0]: row for row in rows}.values())


_COPY_POSTGRES = "COPY erp_sync_bindings " + _COLUMNS + " FROM STDIN"
_COPY_TYPES = ("int4", "text", "text", "text", "text", "timestamptz")


def insert_new(conn: Connection, integration_id: int, rows: Sequence[tuple[str, str, str, str | None]],
               synced_at: datetime) -> int:
    """Bindings for ERP keys that have none: the caller looked them up in this transaction, under the run's lease.
    Big PostgreSQL pages are COPYed straight into the table (cheaper than the merge of `upsert`, which must test
    every row for a conflict: docs/performance.md#bindings-on-postgresql); elsewhere this is `upsert`. Returns the
    rows written."""
    if not _postgres(conn) or len(rows) <= MERGE_THRESHOLD:
        return upsert(conn, integration_id, rows, synced_at)
    return _copy_new(conn, integration_id, _last_per_key(rows), synced_at)


def _copy_new(conn: Connection, integration_id: int, rows: Sequence[tuple[str, str, str, str | None]],
              synced_at: datetime) -> int:
    """PostgreSQL: binary COPY of bindings straight into the table; a key that exists fails it (unique violation)."""
    return copy_in(conn, _COPY_POSTGRES, _params(integration_id, rows, synced_at), _COPY_TYPES)


_INSERT_ABSENT = _INSERT + "DO NOTHING"
_INSERT_ABSENT_SQLITE = _INSERT_ABSENT.format(marks="?, ?, ?, ?, ?, ?")
_INSERT_ABSENT_POSTGRES = _INSERT_ABSENT.format(marks="%s, %s, %s, %s, %s, %s")


def any_bound(conn: Connection, integration_id: int) -> bool:
    """Whether the integration has any binding at all, tombstones included (none: its next run is a first load;
    a tombstone would make a first load's all-new page roll back and be redone)."""
    statement = sa.select(BINDINGS.c.erp_key).where(BINDINGS.c.integration_id == integration_id).limit(1)
    return conn.execute(statement).first() is not None


def insert_absent(conn: Connection, integration_id: int, rows: Sequence[tuple[str, str, str, str | None]],
                  synced_at: datetime) -> bool:
    """Insert bindings for keys that are believed to have none, without looking them up first (a first load).
    Returns False when any of them had a binding after all; the transaction must then be rolled back (on
    PostgreSQL it is already aborted) and the rows written the careful way."""
    unique = _last_per_key(rows)
    if not unique:
        return True
    if _postgres(conn) and len(unique) > MERGE_THRESHOLD:
        try:
            _copy_new(conn, integration_id, unique, synced_at)
        except sa.exc.IntegrityError as error:
            if is_unique_violation(error):
                return False
            raise
        return True
    sql = _INSERT_ABSENT_POSTGRES if _postgres(conn) else _INSERT_ABSENT_SQLITE
    return insert_rows(conn, sql, _params(integration_id, unique, _stamp(conn, synced_at))) == len(unique)


def set_source_hashes(conn: Connection, integration_id: int, rows: Sequence[tuple[str, str]]) -> int:
    """Store (erp_key, source_hash) for bindings whose values did not change but whose source hash did (a first
    re-sync after an upgrade or a mapping change); nothing else of the binding, its push state included, moves."""
    sql = _SET_SOURCE.format(p="%s" if _postgres(conn) else "?")
    return run_many(conn, sql, [(source_hash, integration_id, erp_key) for erp_key, source_hash in rows])


def keep_statistics(conn: Connection) -> None:
    """PostgreSQL: ANALYZE the bindings once they hold rows but have no statistics (a first load, before
    autovacuum gets to them). Without statistics even the per-key probe of `hashes_for` may go through the
    (integration_id, local_key) index, one scan of the integration's bindings per key; with any statistics it
    takes the primary key. A step of its own, after a page's bindings are written; checked once per engine."""
    if conn.engine in _ANALYZED or not _postgres(conn):
        return
    (analyzed,) = fetch_all(conn, "SELECT reltuples > 0 FROM pg_class WHERE oid = 'erp_sync_bindings'::regclass", [])
    if not analyzed[0]:
        execute(conn, "ANALYZE erp_sync_bindings")
    _ANALYZED.add(conn.engine)


def delete(conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> int:
    """Delete the bindings of these ERP keys; returns how many went."""
    if not erp_keys:
        return 0
    if _postgres(conn):
        return run_many(conn, _DELETE_POSTGRES, [(list(erp_keys), integration_id)])
    return sum(run_many(conn, _DELETE_SQLITE.format(marks=", ".join("?" * len(chunk))), [(integration_id, *chunk)])
               for chunk in _chunks(conn, erp_keys, 1))


def tombstone(conn: Connection, integration_id: int, erp_keys: Sequence[str], when: datetime) -> int:
    """Mark these bindings' ERP records as deleted at `when` (their local rows are then never pushed as new ones)
    and forget their source hashes, so that a record coming back is mapped again; returns how many were found."""
    marked = 0
    for chunk in _chunks(conn, list(erp_keys), 1):
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
    for chunk in _chunks(conn, list(local_keys), 1):
        where = sa.and_(BINDINGS.c.integration_id == integration_id, BINDINGS.c.local_key.in_(chunk))
        rows = sorted(_rows(conn, where), key=lambda row: row.erp_deleted_at is None)  # tombstones first
        found.update((row.local_key, row) for row in rows)
    return found
