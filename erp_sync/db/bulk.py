"""Bulk writes at the driver level, inside the caller's SQLAlchemy transaction, and the values they bind.

`run_many`, `execute` and `fetch_all` go straight to the DBAPI cursor of a SQLAlchemy `Connection`: no statement
compilation and no Row objects per row, while the transaction stays the caller's and a driver error surfaces as
SQLAlchemy's; `insert_rows` is `run_many` for one-row INSERTs, sent to SQLite as multi-row VALUES statements.
`copy_merge` is PostgreSQL's fast path for big pages: COPY into a session temp table and one
`INSERT ... SELECT ... ON CONFLICT` merge; `binary_copy_types` says when that COPY can be binary. `json_columns`
feeds the same kind of merge from statement parameters instead, which is faster for narrow text rows (bindings).
The target upsert and the bindings both write through here, with no RETURNING and no ORM
(docs/performance.md#driver-level-writes).

Values are adapted per column (`value_adapter`) so that reading them back through SQLAlchemy with the reflected
table gives equal values: on SQLite, aware datetimes are stored as naive UTC text in SQLAlchemy's own format, dates
as ISO text and decimals as floats (what SQLAlchemy's SQLite types store and read); on PostgreSQL, psycopg binds
Decimal, date and aware datetimes natively (timestamptz), and a timestamp without zone gets naive UTC. A text column
gets the text of any typed value (UTC ISO for datetimes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection, exc
from sqlalchemy.types import NullType

from erp_sync.domain.values import Converter

_TEXT_OIDS = (25, 1043)  # text, varchar: every mapping type is adapted to text for them
_BINARY_OIDS = {  # mapping type -> column type OIDs whose binary format takes that Python value as adapted
    "integer": (20, 21, 23), "decimal": (1700,), "boolean": (16, 20, 21, 23), "date": (1082,),
    "datetime": (1114, 1184), "string": (),
}


# --- DBAPI access inside the caller's SQLAlchemy transaction ---

@contextmanager
def _driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as error:
        raise exc.DBAPIError.instance(statement, None, error, dbapi_error, dialect=conn.dialect) from error


def driver_connection(conn: Connection) -> Any:
    """The DBAPI connection under `conn` (a sqlite3 or psycopg connection)."""
    driver = conn.connection.driver_connection
    if driver is None:
        raise exc.ResourceClosedError("the connection is closed")
    return driver


def _driver(conn: Connection) -> Any:
    if not conn.in_transaction():
        conn.begin()  # the caller's conn.commit() ends it; without it SQLite would autocommit each statement
    return driver_connection(conn)


@contextmanager
def _cursor(conn: Connection, sql: str) -> Iterator[Any]:
    """A DBAPI cursor in `conn`'s transaction, closed after use; driver errors surface as SQLAlchemy's for `sql`.
    (sqlite3 cursors are no context managers, hence not `with cursor`.)"""
    cursor = _driver(conn).cursor()
    try:
        with _driver_errors(conn, sql):
            yield cursor
    finally:
        cursor.close()


def run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """`executemany` on the DBAPI cursor of `conn`, in its transaction; returns the rows affected. (A list binds
    faster than a lazy iterable with sqlite3.)"""
    if not rows:
        return 0
    with _cursor(conn, sql) as cursor:
        cursor.executemany(sql, rows)
        return max(cursor.rowcount, 0)


SQLITE_ROWS_PER_INSERT = 500


def insert_rows(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """`run_many` for an `INSERT ... VALUES (?, ..., ?) [ON CONFLICT ...]` of one row. On SQLite the rows go as
    multi-row VALUES statements, up to SQLITE_ROWS_PER_INSERT rows or the bound-variable limit each: one statement
    step per chunk instead of a reset, bind and step per row (docs/performance.md#multi-row-values-on-sqlite).
    The rows are applied in order, as by `executemany`. Returns the rows affected."""
    if not rows or conn.dialect.name != "sqlite":
        return run_many(conn, sql, rows)
    width = len(rows[0])
    one_row = "(" + ", ".join("?" * width) + ")"
    head, found, tail = sql.partition(f" VALUES {one_row}")
    if not found:
        raise ValueError(f"expected a statement for one row of {width} values: {sql[:80]}")
    limit = _driver(conn).getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    size = max(1, min(SQLITE_ROWS_PER_INSERT, limit // width))
    written = 0
    with _cursor(conn, sql) as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            cursor.execute(f"{head} VALUES {', '.join([one_row] * len(chunk))}{tail}",
                           list(chain.from_iterable(chunk)))
            written += max(cursor.rowcount, 0)
    return written


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """One statement on the DBAPI cursor of `conn`, in its transaction; returns the rows affected."""
    with _cursor(conn, sql) as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def fetch_all(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """One query on the DBAPI cursor of `conn`, in its transaction; plain tuples, no Row objects."""
    with _cursor(conn, sql) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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
    """PostgreSQL: COPY `rows` into a session temp table, merge it into the target with one statement and empty
    it; returns the rows the merge wrote. With `binary_types` (one type per column) the COPY is binary, which
    saves formatting and parsing text per value (docs/performance.md#copy-on-postgresql)."""
    with _cursor(conn, merge_sql) as cursor:
        cursor.execute(stage_sql)
        _copy_rows(cursor, copy_sql, rows, binary_types)
        cursor.execute(merge_sql)
        written = max(cursor.rowcount, 0)
        cursor.execute(clear_sql)
    return written


def copy_in(conn: Connection, copy_sql: str, rows: Iterable[Sequence[Any]],
            binary_types: Sequence[int | str] | None) -> int:
    """PostgreSQL: binary COPY of `rows` straight into a table (no merge: the caller knows none of them exists);
    returns the rows written. A key that does exist fails the whole COPY, as a unique violation."""
    with _cursor(conn, copy_sql) as cursor:
        return _copy_rows(cursor, copy_sql, rows, binary_types)


def is_unique_violation(error: exc.DBAPIError) -> bool:
    """Whether a driver error is a unique-key violation (PostgreSQL SQLSTATE 23505)."""
    return getattr(error.orig, "sqlstate", None) == "23505"


def json_columns(rows: Iterable[Sequence[Any]]) -> list[str]:
    """`rows` (not empty) as one JSON array text per column, for a statement that reads them back as rows with
    `ROWS FROM (jsonb_array_elements_text(%s::jsonb), ...)`. For narrow text rows this beats `copy_merge`: one
    round trip, orjson instead of per-value COPY writes, and no temp table to empty at commit
    (docs/performance.md#bindings-on-postgresql)."""
    return [orjson.dumps(column).decode() for column in zip(*rows, strict=True)]


def binary_copy_types(conn: Connection, table: str, columns: Sequence[str], types: Sequence[str]) -> list[int]:
    """PostgreSQL: the type OIDs of `columns` of `table` (a quoted name) when every (column type, mapping type) pair
    has a binary COPY format that psycopg writes from the adapted values, else [] (text COPY, which PostgreSQL
    parses for any type)."""
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


# --- per-column value adaptation ---

def column_kind(sql_type: Any) -> str:
    """What a column type holds: text, integer, numeric, boolean, date, datetime, any (unknown to SQLAlchemy) or
    other."""
    for kind, types in (("boolean", sa.Boolean), ("datetime", sa.DateTime), ("date", sa.Date),
                        ("integer", sa.Integer), ("numeric", (sa.Numeric, sa.Float)),  # Float is no Numeric in 2.1
                        ("text", sa.String), ("any", NullType)):
        if isinstance(sql_type, types):
            return kind
    return "other"


def value_adapter(sql_type: Any, type_: str, dialect_name: str) -> Converter | None:
    """The function that turns a mapped `type_` value into what a `sql_type` column of this dialect stores
    (None: bound as it is). The caller has checked that the column can hold the type."""
    kind = column_kind(sql_type)
    sqlite = dialect_name == "sqlite"
    if kind in ("text", "any"):
        return None if type_ == "string" else _as_text
    if type_ == "boolean" and kind == "integer":
        return _as_int
    if kind == "datetime":
        if sqlite:
            return _sqlite_datetime
        return None if sql_type.timezone else _naive_utc
    if sqlite and kind == "date":
        return _iso
    if sqlite and type_ == "decimal":
        return _as_float
    return None


def _as_text(v: Any) -> str | None:
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, datetime):
        return v.astimezone(UTC).isoformat() if v.tzinfo else v.isoformat()
    return v.isoformat() if isinstance(v, date) else str(v)


def _as_int(v: Any) -> int | None:
    return None if v is None else int(v)


def _as_float(v: Decimal | None) -> float | None:
    return None if v is None else float(v)


def _iso(v: date | None) -> str | None:
    return None if v is None else v.isoformat()


def _naive_utc(v: datetime | None) -> datetime | None:
    if v is None or v.tzinfo is None:
        return v
    return v.astimezone(UTC).replace(tzinfo=None)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAYS: dict[int, str] = {}
_HOURS = [f"{hour:02d}:" for hour in range(24)]
_MINUTES_SECONDS = [f"{minute:02d}:{second:02d}." for minute in range(60) for second in range(60)]


def _sqlite_datetime(v: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME text ("YYYY-MM-DD HH:MM:SS.ffffff"), in UTC. Built from cached day and
    time-of-day pieces, faster than %-formatting the fields, and this runs per datetime value
    (docs/performance.md#sqlite-datetime-text)."""
    if v is None:
        return None
    if v.tzinfo is None:
        v = v.replace(tzinfo=UTC)
    since = v - _EPOCH
    day = _DAYS.get(since.days)
    if day is None:
        if len(_DAYS) > 100_000:
            _DAYS.clear()
        when = _EPOCH + timedelta(days=since.days)
        day = _DAYS[since.days] = f"{when.year:04d}-{when.month:02d}-{when.day:02d} "
    seconds, micro = since.seconds, since.microseconds
    return day + _HOURS[seconds // 3600] + _MINUTES_SECONDS[seconds % 3600] + (f"{micro:06d}" if micro else "000000")
