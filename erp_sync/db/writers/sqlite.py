"""SQLite's bulk writer: IN-lists sliced under the bound-variable limit, the stale comparison over `json_each`, and
multi-row VALUES statements for every page write (docs/performance.md#multi-row-values-on-sqlite)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime
from itertools import chain
from typing import Any

import orjson
from sqlalchemy import Connection

from erp_sync.db.bulk import dbapi_cursor, driver_connection, fetch_all, run_many
from erp_sync.db.writers.base import (
    CHUNK,
    INSERT_ABSENT,
    UPSERT,
    BindingWrite,
    BulkWriter,
    TargetRows,
    binding_params,
    stamp,
)

ROWS_PER_INSERT = 500
_UPSERT = UPSERT.format(marks="?, ?, ?, ?, ?, ?")
_INSERT_ABSENT = INSERT_ABSENT.format(marks="?, ?, ?, ?, ?, ?")
_LOOKUP = "SELECT erp_key, {column} FROM erp_sync_bindings WHERE integration_id = ? AND erp_key IN ({marks})"
_STALE = (
    "SELECT json_extract(k.value, '$[0]'), CASE WHEN b.erp_deleted_at IS NULL THEN b.row_hash ELSE '' END "
    "FROM json_each(?) AS k LEFT JOIN erp_sync_bindings AS b "
    "ON b.integration_id = ? AND b.erp_key = json_extract(k.value, '$[0]') "
    "WHERE b.source_hash IS NOT json_extract(k.value, '$[1]')"
)
_DELETE = "DELETE FROM erp_sync_bindings WHERE integration_id = ? AND erp_key IN ({marks})"


def insert_values(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """`rows` through `sql`, an `INSERT ... VALUES (?, ..., ?) [ON CONFLICT ...]` of one row, sent as multi-row
    VALUES statements of up to ROWS_PER_INSERT rows or the bound-variable limit each: one statement step per chunk
    instead of a reset, bind and step per row. The rows are applied in order, as by `executemany`. Returns the rows
    affected."""
    if not rows:
        return 0
    width = len(rows[0])
    one_row = "(" + ", ".join("?" * width) + ")"
    head, found, tail = sql.partition(f" VALUES {one_row}")
    if not found:
        raise ValueError(f"expected a statement for one row of {width} values: {sql[:80]}")
    written = 0
    with dbapi_cursor(conn, sql) as cursor:
        limit = driver_connection(conn).getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        size = max(1, min(ROWS_PER_INSERT, limit // width))
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            cursor.execute(f"{head} VALUES {', '.join([one_row] * len(chunk))}{tail}",
                           list(chain.from_iterable(chunk)))
            written += max(cursor.rowcount, 0)
    return written


class SqliteWriter(BulkWriter):
    marker = "?"
    distinct = "IS NOT"

    def chunk_size(self, conn: Connection, fixed: int) -> int:
        return min(CHUNK, driver_connection(conn).getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) - fixed)

    def insert_rows(self, conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        return insert_values(conn, sql, rows)

    def by_erp_key(self, conn: Connection, column: str, integration_id: int,
                   erp_keys: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in self.chunks(conn, erp_keys, 1):
            sql = _LOOKUP.format(column=column, marks=", ".join("?" * len(chunk)))
            found.update(fetch_all(conn, sql, [integration_id, *chunk]))
        return found

    def stale_sources(self, conn: Connection, integration_id: int, erp_keys: Sequence[str],
                      source_hashes: Sequence[str]) -> dict[str, str | None]:
        pairs = orjson.dumps(list(zip(erp_keys, source_hashes, strict=True))).decode()
        return dict(fetch_all(conn, _STALE, [pairs, integration_id]))

    def upsert_bindings(self, conn: Connection, integration_id: int, rows: Sequence[BindingWrite],
                        synced_at: datetime) -> int:
        return insert_values(conn, _UPSERT, binding_params(integration_id, rows, stamp(conn, synced_at)))

    def insert_new_bindings(self, conn: Connection, integration_id: int, rows: Sequence[BindingWrite],
                            synced_at: datetime) -> int:
        return self.upsert_bindings(conn, integration_id, rows, synced_at) if rows else 0

    def insert_absent_bindings(self, conn: Connection, integration_id: int, unique: Sequence[BindingWrite],
                               synced_at: datetime) -> bool:
        params = binding_params(integration_id, unique, stamp(conn, synced_at))
        return insert_values(conn, _INSERT_ABSENT, params) == len(unique)

    def delete_bindings(self, conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> int:
        return sum(run_many(conn, _DELETE.format(marks=", ".join("?" * len(chunk))), [(integration_id, *chunk)])
                   for chunk in self.chunks(conn, erp_keys, 1))

    def keep_statistics(self, conn: Connection) -> None:
        """Nothing: SQLite's planner takes the primary key for the per-page lookups without statistics."""

    def refresh_statistics(self, conn: Connection, written: int, *, first_load: bool) -> None:
        """Nothing, as for `keep_statistics`."""

    def upsert_target(self, conn: Connection, target: TargetRows, values: Sequence[tuple[Any, ...]]) -> int:
        return insert_values(conn, target.statements.upsert, target.adapted(values))

    def insert_absent_target(self, conn: Connection, target: TargetRows, values: Sequence[tuple[Any, ...]]) -> bool:
        """A first load into an empty table: the upsert (SQLite has no faster way in)."""
        if values:
            self.upsert_target(conn, target, values)
        return True
