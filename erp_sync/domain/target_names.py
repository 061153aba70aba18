"""Where an integration may not write: erp-sync's own tables and the databases' catalogs.

A run upserts into its target table, so a target that names erp-sync's tables would overwrite runs, bindings or
integrations, and one that names a catalog would write into the database's own bookkeeping. Refused, with
FORBIDDEN_TARGET:

- tables: `erp_sync_*` (erp-sync's tables and its staging tables, in every schema: the prefix is reserved),
  Alembic's `alembic_version`, SQLite's `sqlite_*` and PostgreSQL's `pg_*`;
- schemas: PostgreSQL's `pg_catalog`, `information_schema` and every `pg_*` (`pg_toast`, `pg_temp_3`), and
  SQLite's `temp`, whose tables vanish with the connection that made them. SQLite's `main` is an ordinary schema:
  it is the default one, spelled out.

Names match case-insensitively and with their quotes removed (`ERP_SYNC_RUNS`, `"erp_sync_runs"`,
`public.erp_sync_runs`), because SQLite ignores case and PostgreSQL folds unquoted names to lower case: a
spelling that slips past an exact match may still name the same table.
"""

from __future__ import annotations

import re

from erp_sync.errors import ValidationError

OWN_TABLE_PREFIX = "erp_sync_"
OWN_TABLES = frozenset({"alembic_version"})
CATALOG_TABLE_PREFIXES = ("sqlite_", "pg_")
CATALOG_SCHEMAS = frozenset({"information_schema"})
CATALOG_SCHEMA_PREFIX = "pg_"
TEMPORARY_SCHEMA = "temp"
_QUOTED = re.compile(r'"(.*)"|`(.*)`|\[(.*)\]', re.DOTALL)
SQL_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")  # api/openapi.yaml's pattern for these names


def is_sql_identifier(name: object) -> bool:
    """Whether `name` is a plain SQL identifier: a letter or _, then letters, digits or _, at most 63 in all (the
    one rule for every table, schema and column name an integration gives)."""
    return isinstance(name, str) and SQL_IDENTIFIER.fullmatch(name) is not None


def check_target_name(table: str, schema: str | None) -> None:
    """Raise FORBIDDEN_TARGET (field target.schema or target.table) when the target is erp-sync's or a catalog."""
    if schema is not None:
        check_schema_name(schema)
    check_table_name(table)


def check_schema_name(schema: str) -> None:
    """Raise FORBIDDEN_TARGET (field target.schema) for a catalog schema or SQLite's `temp`."""
    problem = _schema_problem(_bare(schema))
    if problem:
        raise _forbidden(f"target.schema {schema!r} is {problem}; choose a schema of your own, or leave schema "
                         "out to use the database's default one", "target.schema", schema)


def check_table_name(table: str) -> None:
    """Raise FORBIDDEN_TARGET (field target.table) for erp-sync's tables and catalog tables; a schema written
    into the name (`pg_catalog.x`) is checked too."""
    *schemas, name = [_bare(part) for part in table.split(".")]
    problem = next(filter(None, map(_schema_problem, schemas)), None) or _table_problem(name)
    if problem:
        raise _forbidden(f"target.table {table!r} is {problem}; an integration may not write there. Name a table "
                         "of your own (e.g. 'customers'), or set createIfMissing to have one made",
                         "target.table", table)


def _table_problem(name: str) -> str | None:
    if name.startswith(OWN_TABLE_PREFIX) or name in OWN_TABLES:
        return f"one of erp-sync's own tables (names starting {OWN_TABLE_PREFIX}, and alembic_version)"
    if name.startswith(CATALOG_TABLE_PREFIXES):
        return "a table of the database's system catalog (names starting sqlite_ or pg_)"
    return None


def _schema_problem(name: str) -> str | None:
    if name in CATALOG_SCHEMAS or name.startswith(CATALOG_SCHEMA_PREFIX):
        return "the database's system catalog"
    if name == TEMPORARY_SCHEMA:
        return "SQLite's schema of temporary tables, which vanish with the connection that made them"
    return None


def _bare(name: str) -> str:
    """The name as the database compares it: quotes removed, case folded."""
    name = name.strip()
    quoted = _QUOTED.fullmatch(name)
    if quoted:
        name = next(part for part in quoted.groups() if part is not None)
    return name.strip().casefold()


def _forbidden(message: str, field: str, name: str) -> ValidationError:
    return ValidationError(message, code="FORBIDDEN_TARGET", field=field, details={field.split(".")[-1]: name})
