"""domain.integration: the admission rules a new or changed spec must pass, and the targets it may not write."""

from __future__ import annotations

from typing import Any

import pytest

from erp_sync.domain.integration import check_admission, parse_spec
from erp_sync.domain.target_names import check_target_name
from erp_sync.errors import ValidationError


def spec_data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "customers",
        "connection": {"baseUrl": "http://127.0.0.1:9/s1services", "username": "u", "appId": "1001"},
        "source": {"object": "CUSTOMER"},
        "target": {"table": "customers"},
        "mappings": [{"source": "CUSTOMER.TRDR", "target": "erp_id", "type": "integer"},
                     {"source": "CUSTOMER.CODE", "target": "code"}],
        "keys": ["erp_id"],
        "schedule": {"cronExpression": "*/5 * * * *"},
    }
    data.update(changes)
    return data


def refusal(table: str, schema: str | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        check_target_name(table, schema)
    return caught.value


@pytest.mark.parametrize("table", [
    "erp_sync_runs", "erp_sync_integrations", "erp_sync_bindings", "erp_sync_conflicts", "erp_sync_row_errors",
    "erp_sync_stage_0123456789abcdef", "erp_sync_not_yet_made", "ERP_SYNC_RUNS", "Erp_Sync_Runs",
    '"erp_sync_runs"', "`erp_sync_runs`", "[erp_sync_runs]", "alembic_version", "ALEMBIC_VERSION",
    "main.erp_sync_runs", '"public"."erp_sync_runs"',
])
def test_erp_syncs_own_tables_are_forbidden_in_any_case_or_quoting(table: str) -> None:
    error = refusal(table)
    assert (error.code, error.field) == ("FORBIDDEN_TARGET", "target.table")
    assert "erp-sync's own" in error.message and repr(table) in error.message
    assert error.details == {"table": table}


@pytest.mark.parametrize("table", ["sqlite_master", "sqlite_sequence", "SQLITE_STAT1", "sqlite_temp_master",
                                   "pg_class", "PG_Authid", '"pg_stat_activity"'])
def test_database_catalog_tables_are_forbidden(table: str) -> None:
    error = refusal(table)
    assert (error.code, error.field) == ("FORBIDDEN_TARGET", "target.table")
    assert "catalog" in error.message


@pytest.mark.parametrize(("schema", "reason"), [
    ("pg_catalog", "catalog"), ("PG_CATALOG", "catalog"), ('"pg_catalog"', "catalog"), ("pg_toast", "catalog"),
    ("pg_temp", "catalog"), ("pg_temp_3", "catalog"), ("information_schema", "catalog"),
    ("Information_Schema", "catalog"), ("temp", "temporary"), ("TEMP", "temporary"),
])
def test_catalog_schemas_and_sqlites_temp_schema_are_forbidden(schema: str, reason: str) -> None:
    error = refusal("customers", schema)
    assert (error.code, error.field) == ("FORBIDDEN_TARGET", "target.schema")
    assert reason in error.message and repr(schema) in error.message
    assert error.details == {"schema": schema}


def test_a_catalog_schema_written_into_the_table_name_is_forbidden_on_the_table() -> None:
    error = refusal("pg_catalog.customers")
    assert (error.code, error.field) == ("FORBIDDEN_TARGET", "target.table")


@pytest.mark.parametrize(("table", "schema"), [
    ("customers", None), ("customers", "main"), ("customers", "public"), ("customers", "sales"),
    ("erp_sync", None), ("my_erp_sync_runs", None), ("erpsync_runs", None), ("alembic_versions", None),
    ("pgx_orders", None), ("sqlite", None), ("temporary", None), ("customers", "temporary"), ("customers", "pgx"),
])
def test_ordinary_tables_and_schemas_are_allowed(table: str, schema: str | None) -> None:
    check_target_name(table, schema)


def test_admission_refuses_a_forbidden_target() -> None:
    spec = parse_spec(spec_data(target={"table": "erp_sync_runs"}))
    with pytest.raises(ValidationError) as caught:
        check_admission(spec)
    assert (caught.value.code, caught.value.field) == ("FORBIDDEN_TARGET", "target.table")


@pytest.mark.parametrize(("keys", "field"), [(["erp_id", "erp_id"], "keys[1]"),
                                             (["erp_id", "code", "erp_id"], "keys[2]"),
                                             (["code", "erp_id", "code"], "keys[2]")])
def test_admission_refuses_a_key_listed_twice(keys: list[str], field: str) -> None:
    spec = parse_spec(spec_data(keys=keys))
    with pytest.raises(ValidationError) as caught:
        check_admission(spec)
    error = caught.value
    assert (error.code, error.field) == ("INVALID_MAPPING", field)
    assert repr(keys[-1]) in error.message and "twice" in error.message


def test_admission_accepts_distinct_keys_and_an_ordinary_target() -> None:
    check_admission(parse_spec(spec_data(keys=["erp_id", "code"], target={"table": "customers", "schema": "main"})))


def test_a_stored_spec_that_breaks_an_admission_rule_still_parses_so_it_can_be_listed_and_fixed() -> None:
    spec = parse_spec(spec_data(keys=["erp_id", "erp_id"], target={"table": "erp_sync_runs"}))
    assert list(spec.keys) == ["erp_id", "erp_id"] and spec.target.table == "erp_sync_runs"


@pytest.mark.parametrize(("target", "code", "field"), [
    ({"table": '"erp_sync_runs"'}, "FORBIDDEN_TARGET", "target.table"),
    ({"table": "public.alembic_version"}, "FORBIDDEN_TARGET", "target.table"),
    ({"table": "customers", "schema": '"pg_catalog"'}, "FORBIDDEN_TARGET", "target.schema"),
    ({"table": '"customers"'}, "VALIDATION_ERROR", "target.table"),
    ({"table": "customers", "schema": "my schema"}, "VALIDATION_ERROR", "target.schema"),
])
def test_a_quoted_or_dotted_forbidden_name_is_refused_as_forbidden_not_as_malformed(
        target: dict[str, str], code: str, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_spec(spec_data(target=target))
    assert (caught.value.code, caught.value.field) == (code, field)
