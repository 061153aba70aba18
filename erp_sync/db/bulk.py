"""Bulk writes at the driver level, inside the caller's SQLAlchemy transaction, and the values they bind.

`run_many`, `execute`, `fetch_all` and `dbapi_cursor` go straight to the DBAPI cursor of a SQLAlchemy `Connection`:
no statement compilation and no Row objects per row, while the transaction stays the caller's and a driver error
surfaces as SQLAlchemy's. Each dialect's bulk writer (`db.writers`: multi-row VALUES on SQLite, COPY and merges on
PostgreSQL) writes the target pages and the bindings through here, with no RETURNING and no ORM
(docs/performance.md#driver-level-writes).

Values are adapted per column (`value_adapter`) so that reading them back through SQLAlchemy with the reflected
table gives equal values: on SQLite, aware datetimes are stored as naive UTC text in SQLAlchemy's own format, dates
as ISO text and decimals as floats (what SQLAlchemy's SQLite types store and read); on PostgreSQL, psycopg binds
Decimal, date and aware datetimes natively (timestamptz), and a timestamp without zone gets naive UTC. A text column
gets the text of any typed value (UTC ISO for datetimes).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, exc
from sqlalchemy.types import NullType

from erp_sync.domain.values import Converter

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
def dbapi_cursor(conn: Connection, sql: str) -> Iterator[Any]:
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
    with dbapi_cursor(conn, sql) as cursor:
        cursor.executemany(sql, rows)
        return max(cursor.rowcount, 0)


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """One statement on the DBAPI cursor of `conn`, in its transaction; returns the rows affected."""
    with dbapi_cursor(conn, sql) as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def fetch_all(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """One query on the DBAPI cursor of `conn`, in its transaction; plain tuples, no Row objects."""
    with dbapi_cursor(conn, sql) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


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
