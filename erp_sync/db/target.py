"""The target table: reflect it, check a mapping against it, create it when asked, and write pages into it.

`TargetTable` is the reflected table plus the unique keys an upsert can use. `Upserter` writes one page inside the
caller's transaction with `INSERT ... ON CONFLICT (keys) DO UPDATE ... WHERE the mapped values differ`, so a row
whose values did not change is not rewritten and the returned count is exact. Its SQL is built once per run from
reflected names quoted by the dialect; names a user typed are only looked up (and for a new table, checked by
`domain.target_names.is_sql_identifier`). It neither reflects nor creates erp-sync's own tables or a catalog
(`domain.target_names`): a stored integration from before that rule fails its run with FORBIDDEN_TARGET rather
than overwrite runs. Pages are written by the dialect's bulk writer (`db.writers`, chosen once per upserter):
multi-row VALUES on SQLite, executemany on PostgreSQL, where pages over `copy_threshold` rows are COPYed into a temp
table and merged with one statement (or, into a table empty when a first load began, straight in). No RETURNING on
bulk writes (docs/performance.md#driver-level-writes).

The per-column value adapters (what each dialect stores, so values read back equal) are `bulk.py`'s.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, RowMapping, exc

from erp_sync.db.bulk import column_kind, run_many, value_adapter
from erp_sync.db.writers import BulkWriter, writer_for
from erp_sync.domain.mapping import ColumnLimits, compile_tuple
from erp_sync.domain.target_names import check_target_name, is_sql_identifier
from erp_sync.domain.values import Converter
from erp_sync.errors import ValidationError

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


def check_identifier(name: str | None, field: str) -> None:
    """Refuse a name that is not a plain SQL identifier (letters, digits, underscores; at most 63)."""
    if name is not None and not is_sql_identifier(name):
        raise ValidationError(f"{name!r} is not a valid name: letters, digits and underscores, at most 63, "
                              "not starting with a digit", code="VALIDATION_ERROR", field=field)


def see_current_schema(conn: Connection) -> None:
    """Make `conn` see the schema as it is now. A pooled SQLite connection keeps the schema it read last until a
    statement on it reads a database's schema table: until then `PRAGMA index_list` (so the reflected unique keys)
    misses a table another connection created since, while `PRAGMA table_info` already sees its columns. Reading
    each attached database's `sqlite_master` makes SQLite notice the change and re-read that schema; reflect through
    the same connection afterwards. PostgreSQL's catalogs are always current."""
    if conn.dialect.name != "sqlite":
        return
    quote = conn.dialect.identifier_preparer.quote
    for name in [row[1] for row in conn.exec_driver_sql("PRAGMA database_list")]:
        conn.exec_driver_sql(f"SELECT 1 FROM {quote(name)}.sqlite_master LIMIT 1")  # noqa: S608


def schema_exists(bind: Engine | Connection, name: str) -> bool:
    """Whether the database has a schema of this name (SQLite: `main` or an attached database)."""
    return name in sa.inspect(bind).get_schema_names()


class TargetTable:
    """A reflected target table and the column sets that a unique key may use."""

    def __init__(self, table: sa.Table, dialect: sa.Dialect, unique_keys: Sequence[frozenset[str]]) -> None:
        self.table = table
        self.dialect = dialect
        self.unique_keys = tuple(unique_keys)

    @classmethod
    def reflect(cls, bind: Engine | Connection, table: str, schema: str | None = None) -> TargetTable:
        """Reflect `schema.table`; raises FORBIDDEN_TARGET for erp-sync's tables and catalogs, UNKNOWN_SCHEMA
        (field target.schema) or UNKNOWN_TABLE (field target.table) when it does not exist. Given an engine, it
        reflects through one connection that has seen the current schema (`see_current_schema`)."""
        _check_names(table, schema)
        if isinstance(bind, Engine):
            with bind.connect() as conn:
                return cls._reflect(conn, table, schema)
        return cls._reflect(bind, table, schema)

    @classmethod
    def _reflect(cls, bind: Connection, table: str, schema: str | None) -> TargetTable:
        see_current_schema(bind)
        inspector = sa.inspect(bind)
        if not inspector.has_table(table, schema=schema):
            _require_schema(bind, schema)
            where = f"{schema}.{table}" if schema else table
            raise ValidationError(f"table {where!r} does not exist", code="UNKNOWN_TABLE", field="target.table")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", exc.SAWarning)
            reflected = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=bind)
            keys = [frozenset(inspector.get_pk_constraint(table, schema=schema)["constrained_columns"])]
            keys += [frozenset(u["column_names"]) for u in inspector.get_unique_constraints(table, schema=schema)]
            keys += [frozenset(cast(list[str], i["column_names"])) for i in inspector.get_indexes(table, schema=schema)
                     if i["unique"] and None not in i["column_names"] and not i.get("expressions")
                     and not any(k.endswith("_where") and v is not None
                                 for k, v in i.get("dialect_options", {}).items())]
        return cls(reflected, bind.dialect, [k for k in keys if k])

    @classmethod
    def create(cls, engine: Engine, table: str, schema: str | None, columns: Sequence[tuple[str, str]],
               keys: Sequence[str]) -> TargetTable:
        """Create the table when missing (createIfMissing), with a unique constraint on `keys`, and reflect it."""
        _check_names(table, schema)
        names = [name for name, _ in columns]
        for i, (name, type_) in enumerate(columns):
            check_identifier(name, f"mappings[{i}].target")
            if type_ not in _SQL_TYPES:
                raise ValidationError(f"unknown type {type_!r}", code="INVALID_MAPPING", field=f"mappings[{i}].type")
        for j, key in enumerate(keys):
            if key not in names:
                raise ValidationError(f"key {key!r} is not a mapped column", code="INVALID_MAPPING",
                                      field=f"keys[{j}]")
        _require_schema(engine, schema)
        new = sa.Table(table, sa.MetaData(), *(
            sa.Column(name, _SQL_TYPES[type_](), nullable=name not in keys) for name, type_ in columns
        ), sa.UniqueConstraint(*keys, name=f"uq_{table}_key"[:63]), schema=schema)
        with engine.connect() as conn:
            see_current_schema(conn)
            try:
                new.create(conn, checkfirst=True)
                conn.commit()
            except exc.DBAPIError:
                conn.rollback()
                if not sa.inspect(conn).has_table(table, schema=schema):  # else another process was faster
                    raise
            return cls._reflect(conn, table, schema)

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
        return column_kind(self.table.columns[column].type)


class Upserter:
    """Writes pages of value tuples (in `columns` order) into a target table, within the caller's transaction."""

    def __init__(self, target: TargetTable, columns: Sequence[tuple[str, str]], keys: Sequence[str], *,
                 soft_delete_column: str | None = None, copy_threshold: int = 200) -> None:
        names = [name for name, _ in columns]
        target.check_columns(names)
        target.check_unique_key(keys)
        self.target, self.columns, self.keys = target, names, list(keys)
        self.copy_threshold = copy_threshold
        self._writer: BulkWriter = writer_for(target.dialect)
        adapters = [_adapter(target, i, name, type_) for i, (name, type_) in enumerate(columns)]
        self._adapt = compile_tuple(list(enumerate(adapters))) if any(adapters) else None
        key_positions = [names.index(k) for k in keys]
        self._key_of = compile_tuple([(p, None) for p in key_positions])
        self._adapt_key = compile_tuple([(j, adapters[p]) for j, p in enumerate(key_positions)])
        self.statements = _Statements(target, names, self.keys, soft_delete_column, self._writer)
        self.types = [type_ for _, type_ in columns]
        self._padded_keys = target.limits().padded & set(self.keys)

    def upsert(self, conn: Connection, values: Sequence[tuple[Any, ...]]) -> int:
        """Insert new rows and update rows whose mapped values differ; returns how many rows were written."""
        return self._writer.upsert_target(conn, self, values) if values else 0

    def insert_absent(self, conn: Connection, values: Sequence[tuple[Any, ...]]) -> bool:
        """Write rows whose keys are believed absent from the table (a first load into an empty table). PostgreSQL
        pages over `copy_threshold` rows are COPYed straight into the table, with no merge; False when a key was
        there after all (the transaction is then aborted and must be rolled back). Elsewhere this is `upsert`."""
        return self._writer.insert_absent_target(conn, self, values)

    def adapted(self, values: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
        """The values as this dialect's columns store them (`bulk.value_adapter`)."""
        return list(map(self._adapt, values)) if self._adapt else values

    def last_per_key(self, values: Sequence[tuple[Any, ...]]) -> Iterable[tuple[Any, ...]]:
        """The adapted values, a repeated key's last row only (one merge or COPY cannot take a key twice)."""
        unique = {self._key_of(v): v for v in values}.values()
        return map(self._adapt, unique) if self._adapt else unique

    def is_empty(self, conn: Connection) -> bool:
        """Whether the table has no rows at all."""
        return conn.execute(sa.select(sa.literal(1)).select_from(self.target.table).limit(1)).first() is None

    def delete_keys(self, conn: Connection, keys: Sequence[tuple[Any, ...]]) -> int:
        """Delete the rows with these key tuples; returns how many went."""
        return run_many(conn, self.statements.delete, [self._adapt_key(k) for k in keys])

    def soft_delete_keys(self, conn: Connection, keys: Sequence[tuple[Any, ...]], column: str,
                         when: datetime) -> int:
        """Mark these rows deleted: a datetime `column` gets `when` where it is empty, a boolean one TRUE."""
        self.target.require_column(column, "softDeleteColumn")
        kind = self.target.kind(column)
        if kind not in ("datetime", "boolean"):
            raise ValidationError(f"soft-delete column {column!r} must be a datetime or boolean column",
                                  code="VALIDATION_ERROR", field="softDeleteColumn")
        sql = self.statements.soft_delete(column, kind)
        if kind == "boolean":
            return run_many(conn, sql, [self._adapt_key(k) for k in keys])
        stamp = _adapter(self.target, 0, column, "datetime")
        marker = stamp(when) if stamp else when
        return run_many(conn, sql, [(marker, *self._adapt_key(k)) for k in keys])

    def fetch_rows(self, conn: Connection, keys: Sequence[tuple[Any, ...]]) -> dict[tuple[Any, ...], RowMapping]:
        """The current rows for these key tuples, keyed by key tuple (CHAR padding removed)."""
        table, padded = self.target.table, self._padded_keys
        found: dict[tuple[Any, ...], RowMapping] = {}
        for match in self._key_matches(keys):
            for row in conn.execute(sa.select(table).where(match)).mappings():
                found[tuple(row[k].rstrip(" ") if k in padded else row[k] for k in self.keys)] = row
        return found

    def count_keys(self, conn: Connection, keys: Sequence[tuple[Any, ...]]) -> int:
        """How many of these (distinct) key tuples have a row in the table."""
        count = sa.select(sa.func.count()).select_from(self.target.table)
        return sum(conn.execute(count.where(match)).scalar_one() for match in self._key_matches(keys))

    def _key_matches(self, keys: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        """WHERE clauses matching these key tuples, up to _IN_CHUNK keys each."""
        key_columns = [self.target.table.columns[k] for k in self.keys]
        match = key_columns[0] if len(key_columns) == 1 else sa.tuple_(*key_columns)
        keys = list(keys)
        for start in range(0, len(keys), _IN_CHUNK):
            chunk = keys[start:start + _IN_CHUNK]
            yield match.in_([k[0] for k in chunk] if len(key_columns) == 1 else chunk)

    def iter_rows(self, conn: Connection, batch_size: int = 1000, *,
                  unless_marked: str | None = None) -> Iterator[RowMapping]:
        """Every row of the table (but those whose soft-delete column `unless_marked` is set), streamed (a
        server-side cursor on PostgreSQL); consume it inside `conn`'s transaction and do not write the table
        while iterating."""
        statement = sa.select(self.target.table)
        if unless_marked is not None:
            marker = self.target.table.columns[unless_marked]
            boolean = self.target.kind(unless_marked) == "boolean"
            statement = statement.where(marker.is_not(True) if boolean else marker.is_(None))
        yield from conn.execute(statement.execution_options(yield_per=batch_size)).mappings()


class _Statements:
    """The SQL of one Upserter, built once from reflected names quoted by the dialect (hence the S608 noqa), with
    its writer's parameter marker and distinctness operator, and the parts a writer builds its own statements from
    (a PostgreSQL writer's COPY and merge); which statement runs when is the writer's choice."""

    def __init__(self, target: TargetTable, columns: list[str], keys: list[str], soft: str | None,
                 writer: BulkWriter) -> None:
        preparer, table = target.dialect.identifier_preparer, target.table
        q = preparer.quote
        self.table = preparer.format_table(table)
        self._p = writer.marker
        self._distinct = writer.distinct
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
        self.names, self.conflict = names, conflict
        self.upsert = (f"INSERT INTO {self.table} AS t ({names}) "  # noqa: S608
                       f"VALUES ({', '.join([self._p] * len(columns))}) {conflict}")
        self.delete = f"DELETE FROM {self.table} WHERE {self._key_match}"  # noqa: S608
        digest = hashlib.sha256(repr((table.fullname, columns, [str(table.columns[c].type) for c in columns]))
                                .encode()).hexdigest()[:16]
        self.stage_table = q(f"erp_sync_stage_{digest}")
        self._quote = q

    @property
    def _key_match(self) -> str:
        return " AND ".join(f"{k} = {self._p}" for k in self._keys)

    def soft_delete(self, column: str, kind: str) -> str:
        c = self._quote(column)
        if kind == "boolean":
            return f"UPDATE {self.table} SET {c} = TRUE WHERE {self._key_match} AND {c} IS NOT TRUE"  # noqa: S608
        return f"UPDATE {self.table} SET {c} = {self._p} WHERE {self._key_match} AND {c} IS NULL"  # noqa: S608


def _check_names(table: str, schema: str | None) -> None:
    """FORBIDDEN_TARGET before VALIDATION_ERROR: `"erp_sync_runs"` is refused for what it names."""
    check_target_name(table, schema)
    check_identifier(table, "target.table")
    check_identifier(schema, "target.schema")


def _require_schema(bind: Engine | Connection, schema: str | None) -> None:
    if schema is not None and not schema_exists(bind, schema):
        raise ValidationError(f"schema {schema!r} does not exist in erp-sync's database; create it first "
                              "(CREATE SCHEMA ...), fix its spelling, or leave schema out to use the default one",
                              code="UNKNOWN_SCHEMA", field="target.schema", details={"schema": schema})


def _adapter(target: TargetTable, i: int, column: str, type_: str) -> Converter | None:
    """The column's value adapter (see `bulk.value_adapter`); INVALID_MAPPING when the column cannot hold the
    type and read it back equal."""
    sql_type = target.table.columns[column].type
    if column_kind(sql_type) not in _ACCEPTS[type_]:
        raise ValidationError(f"column {column!r} ({sql_type}) cannot hold {type_} values",
                              code="INVALID_MAPPING", field=f"mappings[{i}].type")
    return value_adapter(sql_type, type_, target.dialect.name)
