"""PostgreSQL's bulk writer: page lookups as JSON arrays probed one key at a time, bindings merged from JSON columns
or COPYed in on big pages, target pages COPYed (binary where it can) into a temp table and merged, and ANALYZE
of the bindings when they have no statistics and at the end of a run that outgrew them
(docs/performance.md#bindings-on-postgresql, docs/performance.md#copy-on-postgresql)."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection

from erp_sync.db.bulk import dbapi_cursor, driver_connection, execute, fetch_all, run_many
from erp_sync.db.writers.base import (
    CHUNK,
    COPY,
    INSERT_ABSENT,
    INTO,
    ON_CONFLICT,
    REPLACE,
    UPSERT,
    BindingWrite,
    BulkWriter,
    TargetRows,
    TargetStatements,
    binding_params,
    last_per_key,
    stamp,
)

MERGE_THRESHOLD = 200
# A run's end re-analyzes the bindings when it wrote more than this share of the rows their statistics know of:
# autovacuum's default analyze scale factor, so the statistics are never staler than autovacuum would leave them,
# only refreshed sooner (docs/performance.md#bindings-on-postgresql).
STALE_SHARE = 0.1
_KNOWN_ROWS = "SELECT reltuples FROM pg_class WHERE oid = 'erp_sync_bindings'::regclass"
_UPSERT = UPSERT.format(marks="%s, %s, %s, %s, %s, %s")
_INSERT_ABSENT = INSERT_ABSENT.format(marks="%s, %s, %s, %s, %s, %s")
# Big pages: one statement whose rows come from four JSON arrays, one per column. It beats COPY into a temp table +
# merge (the target's way) here: bindings are four short texts, so the COPY's per-value writes, its extra round
# trips and emptying the temp table at commit weigh more than parsing JSON
# (docs/performance.md#bindings-on-postgresql).
_MERGE = INTO + (  # noqa: S608 - constants only
    " SELECT %s::integer, erp_key, local_key, row_hash, source_hash, %s::timestamptz FROM ROWS FROM ("
    "jsonb_array_elements_text(%s::jsonb), jsonb_array_elements_text(%s::jsonb), "
    "jsonb_array_elements_text(%s::jsonb), jsonb_array_elements_text(%s::jsonb)) "
    "AS page(erp_key, local_key, row_hash, source_hash)"
) + ON_CONFLICT + REPLACE
_COPY_TYPES = ("int4", "text", "text", "text", "text", "timestamptz")
# PostgreSQL plans `erp_key = ANY(array)` or a join with the array as a scan of the table (per row, a search of the
# array) for tables it thinks small or lacks statistics for. A LATERAL subquery kept apart by OFFSET 0 is one index
# probe per key whatever the table's size. Its integration id is an InitPlan, `(SELECT %s::integer)`: the planner
# then estimates the integration's share of the table from the number of integrations, not from the statistics'
# count for that id. Statistics that lack the integration (taken before its first load wrote) count it as a row or
# two, and the planner took the (integration_id, local_key) index with erp_key as a filter, a scan of all the
# integration's bindings for every key; the primary key's probe is planned whatever the statistics (see also
# refresh_statistics). The keys travel as one JSON text, which orjson writes far faster than psycopg binds a list
# as text[]. (`= ANY` of that array, a little faster on big tables, is planned as a seq scan comparing every key on
# small ones.) Figures: docs/performance.md#bindings-on-postgresql.
LOOKUP = (
    "SELECT b.erp_key, b.found FROM jsonb_array_elements_text(%s::jsonb) AS k(erp_key) CROSS JOIN LATERAL "
    "(SELECT erp_key, {column} AS found FROM erp_sync_bindings WHERE integration_id = "
    "(SELECT %s::integer) AND erp_key = k.erp_key OFFSET 0) b"
)
STALE_SOURCES = (
    "SELECT k.erp_key, b.row_hash FROM ROWS FROM (jsonb_array_elements_text(%s::jsonb), "
    "jsonb_array_elements_text(%s::jsonb)) AS k(erp_key, source_hash) LEFT JOIN LATERAL (SELECT CASE WHEN "
    "erp_deleted_at IS NULL THEN row_hash ELSE '' END AS row_hash, source_hash "
    "FROM erp_sync_bindings WHERE integration_id = (SELECT %s::integer) AND erp_key = k.erp_key OFFSET 0) b "
    "ON TRUE WHERE b.source_hash IS DISTINCT FROM k.source_hash"
)
_DELETE = ("DELETE FROM erp_sync_bindings AS b USING unnest(%s::text[]) AS k(erp_key) "
           "WHERE b.integration_id = %s AND b.erp_key = k.erp_key")
_TEXT_OIDS = (25, 1043)  # text, varchar: every mapping type is adapted to text for them
_BINARY_OIDS = {  # mapping type -> column type OIDs whose binary format takes that Python value as adapted
    "integer": (20, 21, 23), "decimal": (1700,), "boolean": (16, 20, 21, 23), "date": (1082,),
    "datetime": (1114, 1184), "string": (),
}


class _CopyPlan(NamedTuple):
    """How a target's big pages are COPYed: into a session temp table and merged, or straight in; `types` are the
    columns' binary COPY types (None: text COPY)."""

    stage: str
    copy: str
    merge: str
    clear: str
    copy_direct: str
    types: list[int] | None

    @classmethod
    def of(cls, sql: TargetStatements, types: list[int]) -> _CopyPlan:
        names, stage = sql.names, sql.stage_table
        return cls(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608 - quoted names
            f"SELECT {names} FROM {sql.table} WITH NO DATA",
            f"COPY {stage} ({names}) FROM STDIN",
            f"INSERT INTO {sql.table} AS t ({names}) SELECT {names} FROM {stage} {sql.conflict}",  # noqa: S608
            f"DELETE FROM {stage}",  # noqa: S608
            f"COPY {sql.table} ({names}) FROM STDIN",
            types or None)


class PostgresWriter(BulkWriter):
    marker = "%s"
    distinct = "IS DISTINCT FROM"

    def __init__(self) -> None:
        self._analyzed: weakref.WeakSet[sa.Engine] = weakref.WeakSet()
        self._copy_plans: weakref.WeakKeyDictionary[TargetRows, _CopyPlan] = weakref.WeakKeyDictionary()

    def chunk_size(self, conn: Connection, fixed: int) -> int:
        return CHUNK

    def insert_rows(self, conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        return run_many(conn, sql, rows)

    def by_erp_key(self, conn: Connection, column: str, integration_id: int,
                   erp_keys: Sequence[str]) -> dict[str, str]:
        keys = orjson.dumps(list(erp_keys)).decode()
        return dict(fetch_all(conn, LOOKUP.format(column=column), [keys, integration_id]))

    def stale_sources(self, conn: Connection, integration_id: int, erp_keys: Sequence[str],
                      source_hashes: Sequence[str]) -> dict[str, str | None]:
        params = [orjson.dumps(list(erp_keys)).decode(), orjson.dumps(list(source_hashes)).decode(), integration_id]
        return dict(fetch_all(conn, STALE_SOURCES, params))

    def upsert_bindings(self, conn: Connection, integration_id: int, rows: Sequence[BindingWrite],
                        synced_at: datetime) -> int:
        """Pages over MERGE_THRESHOLD go as one merge from JSON columns (which cannot touch a row twice: each key
        once); smaller ones by executemany."""
        when = stamp(conn, synced_at)
        if len(rows) > MERGE_THRESHOLD:
            return execute(conn, _MERGE, [integration_id, when, *json_columns(last_per_key(rows))])
        return run_many(conn, _UPSERT, binding_params(integration_id, rows, when))

    def insert_new_bindings(self, conn: Connection, integration_id: int, rows: Sequence[BindingWrite],
                            synced_at: datetime) -> int:
        """Big pages are COPYed straight into the table, cheaper than the merge, which must test every row for a
        conflict (docs/performance.md#bindings-on-postgresql)."""
        if len(rows) <= MERGE_THRESHOLD:
            return self.upsert_bindings(conn, integration_id, rows, synced_at) if rows else 0
        return _copy_new(conn, integration_id, last_per_key(rows), synced_at)

    def insert_absent_bindings(self, conn: Connection, integration_id: int, unique: Sequence[BindingWrite],
                               synced_at: datetime) -> bool:
        if len(unique) > MERGE_THRESHOLD:
            return _unless_bound(lambda: _copy_new(conn, integration_id, unique, synced_at))
        params = binding_params(integration_id, unique, stamp(conn, synced_at))
        return run_many(conn, _INSERT_ABSENT, params) == len(unique)

    def delete_bindings(self, conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> int:
        return run_many(conn, _DELETE, [(list(erp_keys), integration_id)])

    def keep_statistics(self, conn: Connection) -> None:
        """ANALYZE the bindings once they hold rows but have no statistics; checked once per engine."""
        if conn.engine in self._analyzed:
            return
        (analyzed,) = fetch_all(conn, "SELECT reltuples > 0 FROM pg_class WHERE oid = 'erp_sync_bindings'::regclass",
                                [])
        if not analyzed[0]:
            execute(conn, "ANALYZE erp_sync_bindings")
        self._analyzed.add(conn.engine)

    def refresh_statistics(self, conn: Connection, written: int, *, first_load: bool) -> None:
        """ANALYZE the bindings after a first load that wrote any, or a run that wrote more than STALE_SHARE of the
        rows the statistics know of (`pg_class.reltuples`, a catalog read; -1 when never analyzed)."""
        if not written:
            return
        if not first_load:
            ((known,),) = fetch_all(conn, _KNOWN_ROWS, [])
            if written <= STALE_SHARE * max(known, 0):
                return
        execute(conn, "ANALYZE erp_sync_bindings")

    def upsert_target(self, conn: Connection, target: TargetRows, values: Sequence[tuple[Any, ...]]) -> int:
        """Pages over the target's copy_threshold: COPY into a temp table and one merge (`copy_merge`)."""
        if len(values) > target.copy_threshold:
            plan = self._copy_plan(conn, target)
            return copy_merge(conn, plan.stage, plan.copy, plan.merge, plan.clear, target.last_per_key(values),
                              plan.types)
        return run_many(conn, target.statements.upsert, target.adapted(values))

    def insert_absent_target(self, conn: Connection, target: TargetRows, values: Sequence[tuple[Any, ...]]) -> bool:
        """Pages over the target's copy_threshold are COPYed straight into the table, with no merge; False when a
        key was there after all (the transaction is then aborted and must be rolled back)."""
        if len(values) <= target.copy_threshold:
            if values:
                self.upsert_target(conn, target, values)
            return True
        plan = self._copy_plan(conn, target)
        return _unless_bound(lambda: copy_in(conn, plan.copy_direct, target.last_per_key(values), plan.types))

    def _copy_plan(self, conn: Connection, target: TargetRows) -> _CopyPlan:
        """The target's COPY statements and binary COPY types, built on its first big page."""
        plan = self._copy_plans.get(target)
        if plan is None:
            sql = target.statements
            types = binary_copy_types(conn, sql.table, target.columns, target.types)
            plan = self._copy_plans[target] = _CopyPlan.of(sql, types)
        return plan


def _copy_new(conn: Connection, integration_id: int, rows: Sequence[BindingWrite], synced_at: datetime) -> int:
    """Binary COPY of bindings straight into the table; a key that exists fails it (unique violation)."""
    return copy_in(conn, COPY, binding_params(integration_id, rows, synced_at), _COPY_TYPES)


def _unless_bound(write: Callable[[], object]) -> bool:
    """Run a COPY of rows believed new; False when a key was there after all (a unique violation)."""
    try:
        write()
    except sa.exc.IntegrityError as error:
        if is_unique_violation(error):
            return False
        raise
    return True


def is_unique_violation(error: sa.exc.DBAPIError) -> bool:
    """Whether a driver error is a unique-key violation (SQLSTATE 23505)."""
    return getattr(error.orig, "sqlstate", None) == "23505"


def _copy_rows(cursor: Any, copy_sql: str, rows: Iterable[Sequence[Any]],
               binary_types: Sequence[int | str] | None) -> int:
    """COPY `rows` through `cursor` (binary when the column types are given); returns how many were written."""
    written = 0
    with cursor.copy(copy_sql + (" (FORMAT BINARY)" if binary_types else "")) as copy:
        if binary_types:
            copy.set_types(binary_types)
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def copy_merge(conn: Connection, stage_sql: str, copy_sql: str, merge_sql: str, clear_sql: str,
               rows: Iterable[Sequence[Any]], binary_types: Sequence[int | str] | None = None) -> int:
    """COPY `rows` into a session temp table, merge it into the target with one statement and empty it; returns the
    rows the merge wrote. With `binary_types` (one type per column) the COPY is binary, which saves formatting and
    parsing text per value (docs/performance.md#copy-on-postgresql)."""
    with dbapi_cursor(conn, merge_sql) as cursor:
        cursor.execute(stage_sql)
        _copy_rows(cursor, copy_sql, rows, binary_types)
        cursor.execute(merge_sql)
        written = max(cursor.rowcount, 0)
        cursor.execute(clear_sql)
    return written


def copy_in(conn: Connection, copy_sql: str, rows: Iterable[Sequence[Any]],
            binary_types: Sequence[int | str] | None) -> int:
    """Binary COPY of `rows` straight into a table (no merge: the caller knows none of them exists); returns the
    rows written. A key that does exist fails the whole COPY, as a unique violation."""
    with dbapi_cursor(conn, copy_sql) as cursor:
        return _copy_rows(cursor, copy_sql, rows, binary_types)


def json_columns(rows: Iterable[Sequence[Any]]) -> list[str]:
    """`rows` (not empty) as one JSON array text per column, for a statement that reads them back as rows with
    `ROWS FROM (jsonb_array_elements_text(%s::jsonb), ...)`. For narrow text rows this beats `copy_merge`: one
    round trip, orjson instead of per-value COPY writes, and no temp table to empty at commit
    (docs/performance.md#bindings-on-postgresql)."""
    return [orjson.dumps(column).decode() for column in zip(*rows, strict=True)]


def binary_copy_types(conn: Connection, table: str, columns: Sequence[str], types: Sequence[str]) -> list[int]:
    """The type OIDs of `columns` of `table` (a quoted name) when every (column type, mapping type) pair has a
    binary COPY format that psycopg writes from the adapted values, else [] (text COPY, which PostgreSQL parses for
    any type)."""
    found = dict(fetch_all(conn, "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass",
                           [table]))
    oids = [found[name] for name in columns]
    if not all(oid in _BINARY_OIDS[type_] or oid in _TEXT_OIDS for oid, type_ in zip(oids, types, strict=True)):
        return []
    adapters = driver_connection(conn).adapters
    try:
        for oid in oids:
            adapters.get_dumper_by_oid(oid, 1)  # 1: binary
    except Exception:  # this psycopg cannot write one of them in binary
        return []
    return oids
