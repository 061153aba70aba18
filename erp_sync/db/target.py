"""The target table: reflect it, check a mapping against it, create it when asked, and write pages into it.

`TargetTable` is the reflected table plus the unique keys an upsert can use. `Upserter` writes one page inside the
caller's transaction with `INSERT ... ON CONFLICT (keys) DO UPDATE ... WHERE the mapped values differ`, so a row
whose values did not change is not rewritten and the returned count is exact. Its SQL is built once per run from
reflected names quoted by the dialect; names a user typed are only looked up (and for a new table, checked against
IDENTIFIER). Pages go through the DBAPI cursor (`executemany`); PostgreSQL pages over `copy_threshold` rows are
COPYed into a temp table and merged with one statement. No RETURNING on bulk writes (PERFORMANCE.md).

Values are adapted per column so that reading them back through SQLAlchemy with the reflected table gives equal
values: on SQLite, aware datetimes are stored as naive UTC text in SQLAlchemy's own format, dates as ISO text and
decimals as floats (what SQLAlchemy's SQLite types store and read); on PostgreSQL, psycopg binds Decimal, date and
aware datetimes natively (timestamptz), and a timestamp without zone gets naive UTC. A text column gets the text of
any typed value (UTC ISO for datetimes).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, RowMapping, exc
from sqlalchemy.types import NullType

from erp_sync.domain.mapping import ColumnLimits, Converter, compile_tuple
from erp_sync.errors import ValidationError

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SQL_TYPES: dict[str, Any] = {
    "string": sa.Text, "integer": sa.BigInteger, "decimal": lambda: sa.Numeric(18, 6), "boolean": sa.Boolean,
    "date": sa.Date, "datetime": lambda: sa.DateTime(timezone=True),
}
_ACCEPTS = {  # mapping type -> column kinds that hold it and read it back equal
    "string": {"text", "any"}, "integer": {"integer", "numeric", "text", "any"},
    "decimal": {"numeric", "text", "any"}, "boolean": {"boolean", "integer", "text", "any"},
    "date": {"date", "text", "any"}, "datetime": {"datetime", "text", "any"},
}
_IN_CHUNK = 500
_TEXT_OIDS = (25, 1043)  # text, varchar: every mapping type is adapted to text for them
_BINARY_OIDS = {  # mapping type -> column type OIDs whose binary format takes that Python value as adapted
    "integer": (20, 21, 23), "decimal": (1700,), "boolean": (16, 20, 21, 23), "date": (1082,),
    "datetime": (1114, 1184), "string": (),
}


def check_identifier(name: str | None, field: str) -> None:
    """Refuse a name that is not a plain SQL identifier (letters, digits, underscores; at most 63)."""
    if name is not None and not (isinstance(name, str) and IDENTIFIER.fullmatch(name)):
        raise ValidationError(f"{name!r} is not a valid name: letters, digits and underscores, at most 63, "
                              "not starting with a digit", code="VALIDATION_ERROR", field=field)


class TargetTable:
    """A reflected target table and the column sets that a unique key may use."""

    def __init__(self, table: sa.Table, dialect: sa.Dialect, unique_keys: Sequence[frozenset[str]]) -> None:
        self.table = table
        self.dialect = dialect
        self.unique_keys = tuple(unique_keys)

    @classmethod
    def reflect(cls, bind: Engine | Connection, table: str, schema: str | None = None) -> TargetTable:
        """Reflect `schema.table`; raises UNKNOWN_TABLE (field target.table) when it does not exist."""
        check_identifier(table, "target.table")
        check_identifier(schema, "target.schema")
        inspector = sa.inspect(bind)
        if not inspector.has_table(table, schema=schema):
            where = f"{schema}.{table}" if schema else table
            raise ValidationError(f"table {where!r} does not exist", code="UNKNOWN_TABLE", field="target.table")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", exc.SAWarning)
            reflected = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=bind)
            keys = [frozenset(inspector.get_pk_constraint(table, schema=schema)["constrained_columns"])]
            keys += [frozenset(u["column_names"]) for u in inspector.get_unique_constraints(table, schema=schema)]
            keys += [frozenset(i["column_names"]) for i in inspector.get_indexes(table, schema=schema)
                     if i["unique"] and None not in i["column_names"] and not i.get("expressions")
                     and not any(k.endswith("_where") and v is not None
                                 for k, v in i.get("dialect_options", {}).items())]
        return cls(reflected, bind.dialect, [k for k in keys if k])

    @classmethod
    def create(cls, engine: Engine, table: str, schema: str | None, columns: Sequence[tuple[str, str]],
               keys: Sequence[str]) -> TargetTable:
        """Create the table when missing (createIfMissing), with a unique constraint on `keys`, and reflect it."""
        check_identifier(table, "target.table")
        check_identifier(schema, "target.schema")
        names = [name for name, _ in columns]
        for i, (name, type_) in enumerate(columns):
            check_identifier(name, f"mappings[{i}].target")
            if type_ not in _SQL_TYPES:
                raise ValidationError(f"unknown type {type_!r}", code="INVALID_MAPPING", field=f"mappings[{i}].type")
        for j, key in enumerate(keys):
            if key not in names:
                raise ValidationError(f"key {key!r} is not a mapped column", code="INVALID_MAPPING",
                                      field=f"keys[{j}]")
        if schema is not None and schema not in sa.inspect(engine).get_schema_names():
            raise ValidationError(f"schema {schema!r} does not exist", code="VALIDATION_ERROR",
                                  field="target.schema")
        new = sa.Table(table, sa.MetaData(), *(
            sa.Column(name, _SQL_TYPES[type_](), nullable=name not in keys) for name, type_ in columns
        ), sa.UniqueConstraint(*keys, name=f"uq_{table}_key"[:63]), schema=schema)
        try:
            new.create(engine, checkfirst=True)
        except exc.DBAPIError:
            if not sa.inspect(engine).has_table(table, schema=schema):  # else another process was faster
                raise
        return cls.reflect(engine, table, schema)

    @property
    def columns(self) -> list[str]:
        return [column.name for column in self.table.columns]

    def check_columns(self, columns: Sequence[str], field_prefix: str = "mappings",
                      attribute: str | None = "target") -> None:
        """Raise UNKNOWN_COLUMN for the first column the table lacks, naming it and its path in the request
        (`{field_prefix}[i].{attribute}`) and listing the table's columns."""
        for i, name in enumerate(columns):
            self.require_column(name, f"{field_prefix}[{i}]" + (f".{attribute}" if attribute else ""))

    def require_column(self, name: str, field: str) -> None:
        existing = self.columns
        if name in existing:
            return
        hint = [c for c in existing if c.casefold() == str(name).casefold()]
        raise ValidationError(
            f"column {name!r} is not in table {self.table.fullname!r}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "") + f"; its columns: {', '.join(existing)}",
            code="UNKNOWN_COLUMN", field=field, details={"columns": existing})

    def check_unique_key(self, keys: Sequence[str]) -> None:
        """Raise UNIQUE_KEY_MISSING unless a primary key or unique constraint/index covers exactly `keys`."""
        self.check_columns(keys, "keys", attribute=None)
        if frozenset(keys) not in self.unique_keys:
            columns = ", ".join(keys)
            raise ValidationError(
                f"table {self.table.fullname!r} has no primary key or unique index on exactly ({columns}); an "
                f"upsert needs one, e.g. CREATE UNIQUE INDEX ... ON {self.table.fullname} ({columns})",
                code="UNIQUE_KEY_MISSING", field="keys", details={"keys": list(keys)})

    def limits(self) -> ColumnLimits:
        """Maximum lengths of string columns, (precision, scale) of exact numeric columns, fixed-width CHARs."""
        lengths, numerics, padded = {}, {}, set()
        for column in self.table.columns:
            if isinstance(column.type, sa.CHAR):
                padded.add(column.name)
            if isinstance(column.type, sa.String) and column.type.length:
                lengths[column.name] = column.type.length
            elif isinstance(column.type, sa.Numeric) and not isinstance(column.type, sa.Float):
                numerics[column.name] = (column.type.precision, column.type.scale)
        return ColumnLimits(lengths, numerics, frozenset(padded))

    def kind(self, column: str) -> str:
        """What a column holds: text, integer, numeric, boolean, date, datetime, any (unknown to SQLAlchemy) or
        other (a type no mapping may write)."""
        return _kind(self.table.columns[column].type)

    def upserter(self, columns: Sequence[tuple[str, str]], keys: Sequence[str], *,
                 soft_delete_column: str | None = None) -> Upserter:
        """An `Upserter` for these (column, mapping type) pairs and keys; build one per run."""
        return Upserter(self, columns, keys, soft_delete_column=soft_delete_column)


class Upserter:
    """Writes pages of value tuples (in `columns` order) into a target table, within the caller's transaction."""

    def __init__(self, target: TargetTable, columns: Sequence[tuple[str, str]], keys: Sequence[str], *,
                 soft_delete_column: str | None = None, copy_threshold: int = 200) -> None:
        names = [name for name, _ in columns]
        target.check_columns(names)
        target.check_unique_key(keys)
        self.target, self.columns, self.keys = target, names, list(keys)
        self.copy_threshold = copy_threshold
        self._postgres = target.dialect.name == "postgresql"
        adapters = [_adapter(target, i, name, type_) for i, (name, type_) in enumerate(columns)]
        self._adapt = compile_tuple(list(enumerate(adapters))) if any(adapters) else None
        key_positions = [names.index(k) for k in keys]
        self._key_of = compile_tuple([(p, None) for p in key_positions])
        self._adapt_key = compile_tuple([(j, adapters[p]) for j, p in enumerate(key_positions)])
        self._sql = _Statements(target, names, self.keys, soft_delete_column)
        self._types = [type_ for _, type_ in columns]
        self._binary_types: list[int] | None = None
        self._padded_keys = target.limits().padded & set(self.keys)

    def _copy_types(self, conn: Connection) -> list[int]:
        """The target columns' type OIDs when every (column type, value type) pair has a binary COPY format that
        psycopg writes from the adapted values, else [] (text COPY, which PostgreSQL parses for any type)."""
        found = dict(fetch_all(conn, "SELECT attname, atttypid::int FROM pg_attribute WHERE attrelid = %s::regclass",
                               [self._sql.table]))
        oids = [found[name] for name in self.columns]
        if not all(oid in _BINARY_OIDS[type_] or oid in _TEXT_OIDS for oid, type_ in zip(oids, self._types,
                                                                                           strict=True)):
            return []
        adapters = conn.connection.driver_connection.adapters
        try:
            for oid in oids:
                adapters.get_dumper_by_oid(oid, 1)  # 1: binary
        except Exception:  # this psycopg cannot write one of them in binary
            return []
        return oids

    def upsert(self, conn: Connection, values: Sequence[tuple[Any, ...]]) -> int:
        """Insert new rows and update rows whose mapped values differ; returns how many rows were written."""
        if not values:
            return 0
        if self._postgres and len(values) > self.copy_threshold:
            unique = {self._key_of(v): v for v in values}.values()  # one merge cannot touch a row twice
            rows = map(self._adapt, unique) if self._adapt else unique
            if self._binary_types is None:
                self._binary_types = self._copy_types(conn)
            return copy_merge(conn, self._sql.stage, self._sql.copy, self._sql.merge, self._sql.clear, rows,
                              self._binary_types or None)
        return run_many(conn, self._sql.upsert, list(map(self._adapt, values)) if self._adapt else values)

    def delete_keys(self, conn: Connection, keys: Sequence[tuple[Any, ...]]) -> int:
        """Delete the rows with these key tuples; returns how many went."""
        return run_many(conn, self._sql.delete, [self._adapt_key(k) for k in keys])

    def soft_delete_keys(self, conn: Connection, keys: Sequence[tuple[Any, ...]], column: str,
                         when: datetime) -> int:
        """Mark these rows deleted: a datetime `column` gets `when` where it is empty, a boolean one TRUE."""
        self.target.require_column(column, "softDeleteColumn")
        kind = self.target.kind(column)
        if kind not in ("datetime", "boolean"):
            raise ValidationError(f"soft-delete column {column!r} must be a datetime or boolean column",
                                  code="VALIDATION_ERROR", field="softDeleteColumn")
        sql = self._sql.soft_delete(column, kind)
        if kind == "boolean":
            return run_many(conn, sql, [self._adapt_key(k) for k in keys])
        stamp = _adapter(self.target, 0, column, "datetime")
        marker = stamp(when) if stamp else when
        return run_many(conn, sql, [(marker, *self._adapt_key(k)) for k in keys])

    def fetch_rows(self, conn: Connection, keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], RowMapping]:
        """The current rows for these key tuples, keyed by key tuple (CHAR padding removed)."""
        table, padded = self.target.table, self._padded_keys
        key_columns = [table.columns[k] for k in self.keys]
        match = key_columns[0] if len(key_columns) == 1 else sa.tuple_(*key_columns)
        found: dict[tuple[Any, ...], RowMapping] = {}
        keys = list(keys)
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start:start + _IN_CHUNK]
            params = [k[0] for k in chunk] if len(key_columns) == 1 else chunk
            for row in conn.execute(sa.select(table).where(match.in_(params))).mappings():
                found[tuple(row[k].rstrip(" ") if k in padded else row[k] for k in self.keys)] = row
        return found

    def iter_rows(self, conn: Connection, batch_size: int = 1000) -> Iterator[RowMapping]:
        """Every row of the table, streamed (a server-side cursor on PostgreSQL); consume it inside `conn`'s
        transaction and do not write the table while iterating."""
        statement = sa.select(self.target.table).execution_options(yield_per=batch_size)
        yield from conn.execute(statement).mappings()


class _Statements:
    """The SQL of one Upserter, built once from reflected names quoted by the dialect (hence the S608 noqa)."""

    def __init__(self, target: TargetTable, columns: list[str], keys: list[str], soft: str | None) -> None:
        preparer, table = target.dialect.identifier_preparer, target.table
        self.postgres = target.dialect.name == "postgresql"
        q = preparer.quote
        self.table = preparer.format_table(table)
        self._p = "%s" if self.postgres else "?"
        self._distinct = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        self._keys = [q(k) for k in keys]
        names = ", ".join(q(c) for c in columns)
        others = [q(c) for c in columns if c not in keys]
        sets = [f"{c} = excluded.{c}" for c in others]
        guard = (f"({', '.join(f't.{c}' for c in others)}) {self._distinct} "
                 f"({', '.join(f'excluded.{c}' for c in others)})") if others else ""
        if soft is not None:
            target.require_column(soft, "softDeleteColumn")
            if soft in columns:
                raise ValidationError(f"soft-delete column {soft!r} must not be a mapped column",
                                      code="VALIDATION_ERROR", field="softDeleteColumn")
            flag = target.kind(soft) == "boolean"
            sets.append(f"{q(soft)} = {'FALSE' if flag else 'NULL'}")
            guard = " OR ".join(filter(None, [guard, f"t.{q(soft)} {'IS TRUE' if flag else 'IS NOT NULL'}"]))
        conflict = (f"ON CONFLICT ({', '.join(self._keys)}) "
                    + (f"DO UPDATE SET {', '.join(sets)} WHERE {guard}" if sets else "DO NOTHING"))
        self.upsert = (f"INSERT INTO {self.table} AS t ({names}) "  # noqa: S608
                       f"VALUES ({', '.join([self._p] * len(columns))}) {conflict}")
        self.delete = f"DELETE FROM {self.table} WHERE {self._key_match}"  # noqa: S608
        digest = hashlib.sha256(repr((table.fullname, columns, [str(table.columns[c].type) for c in columns]))
                                .encode()).hexdigest()[:16]
        stage = q(f"erp_sync_stage_{digest}")
        self.stage = (f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "  # noqa: S608
                      f"SELECT {names} FROM {self.table} WITH NO DATA")
        self.copy = f"COPY {stage} ({names}) FROM STDIN"
        self.merge = f"INSERT INTO {self.table} AS t ({names}) SELECT {names} FROM {stage} {conflict}"  # noqa: S608
        self.clear = f"DELETE FROM {stage}"  # noqa: S608
        self._quote = q

    @property
    def _key_match(self) -> str:
        return " AND ".join(f"{k} = {self._p}" for k in self._keys)

    def soft_delete(self, column: str, kind: str) -> str:
        c = self._quote(column)
        if kind == "boolean":
            return f"UPDATE {self.table} SET {c} = TRUE WHERE {self._key_match} AND {c} IS NOT TRUE"  # noqa: S608
        return f"UPDATE {self.table} SET {c} = {self._p} WHERE {self._key_match} AND {c} IS NULL"  # noqa: S608


# --- DBAPI access inside the caller's SQLAlchemy transaction ---

@contextmanager
def _driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as error:
        raise exc.DBAPIError.instance(statement, None, error, dbapi_error, dialect=conn.dialect) from error


def _driver(conn: Connection) -> Any:
    if not conn.in_transaction():
        conn.begin()  # the caller's conn.commit() ends it; without it SQLite would autocommit each statement
    return conn.connection.driver_connection


def run_many(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
    """`executemany` on the DBAPI cursor of `conn`, in its transaction; returns the rows affected. (A list binds
    faster than a lazy iterable with sqlite3.)"""
    if not rows:
        return 0
    cursor = _driver(conn).cursor()
    try:
        with _driver_errors(conn, sql):
            cursor.executemany(sql, rows)
        return max(cursor.rowcount, 0)
    finally:
        cursor.close()


def execute(conn: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """One statement on the DBAPI cursor of `conn`, in its transaction; returns the rows affected."""
    cursor = _driver(conn).cursor()
    try:
        with _driver_errors(conn, sql):
            cursor.execute(sql, params)
        return max(cursor.rowcount, 0)
    finally:
        cursor.close()


def fetch_all(conn: Connection, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """One query on the DBAPI cursor of `conn`, in its transaction; plain tuples, no Row objects."""
    cursor = _driver(conn).cursor()
    try:
        with _driver_errors(conn, sql):
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        cursor.close()


def copy_merge(conn: Connection, stage_sql: str, copy_sql: str, merge_sql: str, clear_sql: str,
               rows: Iterable[Sequence[Any]], binary_types: Sequence[int | str] | None = None) -> int:
    """PostgreSQL: COPY `rows` into a session temp table, merge it into the target with one statement and empty
    it; returns the rows the merge wrote. With `binary_types` (one type per column) the COPY is binary, which
    saves about 1.5 µs a row of text formatting and parsing."""
    with _driver(conn).cursor() as cursor, _driver_errors(conn, merge_sql):
        cursor.execute(stage_sql)
        with cursor.copy(copy_sql + (" (FORMAT BINARY)" if binary_types else "")) as copy:
            if binary_types:
                copy.set_types(binary_types)
            for row in rows:
                copy.write_row(row)
        cursor.execute(merge_sql)
        written = max(cursor.rowcount, 0)
        cursor.execute(clear_sql)
    return written


# --- per-column value adaptation ---

def _kind(sql_type: Any) -> str:
    for kind, types in (("boolean", sa.Boolean), ("datetime", sa.DateTime), ("date", sa.Date),
                        ("integer", sa.Integer), ("numeric", (sa.Numeric, sa.Float)),  # Float is no Numeric in 2.1
                        ("text", sa.String), ("any", NullType)):
        if isinstance(sql_type, types):
            return kind
    return "other"


def _adapter(target: TargetTable, i: int, column: str, type_: str) -> Converter | None:
    sql_type = target.table.columns[column].type
    kind = _kind(sql_type)
    if kind not in _ACCEPTS[type_]:
        raise ValidationError(f"column {column!r} ({sql_type}) cannot hold {type_} values",
                              code="INVALID_MAPPING", field=f"mappings[{i}].type")
    sqlite = target.dialect.name == "sqlite"
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
    time-of-day pieces: 2.5x faster than %-formatting the fields, and this runs per datetime value."""
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
