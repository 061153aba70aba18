"""domain.mapping: converters, field resolution, bad rows, keys, the row hash and the way back to the ERP."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from erp_sync.domain.mapping import ColumnLimits, FieldMapping, MappingPlan
from erp_sync.errors import ValidationError

ATHENS = "Europe/Athens"
FIELDS = ("CUSTOMER.CODE", "CUSTOMER.NAME", "CUSTOMER.ISACTIVE", "CUSTOMER.TRDR", "CUSTOMER.BALANCE",
          "CUSTOMER.UPDDATE", "CUSTOMER.BIRTHDAY")
MAPPINGS = [
    FieldMapping("CUSTOMER.CODE", "code"),
    FieldMapping("NAME", "name"),
    FieldMapping("isactive", "active", "boolean"),
    FieldMapping("CUSTOMER.TRDR", "trdr", "integer"),
    FieldMapping("BALANCE", "balance", "decimal"),
    FieldMapping("UPDDATE", "updated_at", "datetime"),
    FieldMapping("BIRTHDAY", "birthday", "date"),
]


def plan_for(mappings: list[FieldMapping] | None = None, keys: tuple[str, ...] = ("code",),
             limits: ColumnLimits | None = None) -> MappingPlan:
    return MappingPlan.compile(mappings or MAPPINGS, keys, ATHENS, limits=limits)


def row(**changes: str) -> list[str]:
    values = {"code": "C001", "name": "Παπαδόπουλος Α.Ε.", "active": "1", "trdr": "47", "balance": "399.95",
              "updated": "2024-07-01 12:00:00", "birthday": "1980-02-01"}
    values.update(changes)
    return list(values.values())


def convert_one(type_: str, text: str | None, default: str | None = None, limits: ColumnLimits | None = None):
    plan = MappingPlan.compile([FieldMapping("K", "k"), FieldMapping("V", "v", type_, default)], ["k"], ATHENS,
                               limits=limits)
    mapped = plan.bind(("K", "V")).map_rows([["key", text]])
    if mapped.errors:
        return mapped.errors[0]
    return mapped.values[0][1]


@pytest.mark.parametrize(("type_", "text", "expected"), [
    ("string", "Αθήνα", "Αθήνα"),
    ("string", "", ""),
    ("string", "  padded ", "  padded "),
    ("integer", "47", 47),
    ("integer", " 47 ", 47),
    ("integer", "47.00", 47),
    ("integer", "-3", -3),
    ("integer", "", None),
    ("decimal", "399.95", Decimal("399.95")),
    ("decimal", "399,95", Decimal("399.95")),
    ("decimal", "-0,5", Decimal("-0.5")),
    ("decimal", "", None),
    ("boolean", "1", True),
    ("boolean", "0", False),
    ("boolean", "true", True),
    ("boolean", "FALSE", False),
    ("boolean", "", None),
    ("date", "2024-03-05", date(2024, 3, 5)),
    ("date", "2024-03-05 10:22:33", date(2024, 3, 5)),
    ("date", "1899-12-30 00:00:00", None),
    ("date", "", None),
    ("datetime", "1899-12-30 00:00:00", None),
    ("datetime", "1899-12-30", None),
    ("datetime", "", None),
])
def test_erp_strings_convert_to_python_values(type_: str, text: str, expected: object) -> None:
    value = convert_one(type_, text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(("text", "utc"), [
    ("2024-07-01 12:00:00", datetime(2024, 7, 1, 9, 0, tzinfo=UTC)),      # summer, +03:00
    ("2024-01-15 12:00:00", datetime(2024, 1, 15, 10, 0, tzinfo=UTC)),    # winter, +02:00
    ("2024-10-27 03:30:00", datetime(2024, 10, 27, 0, 30, tzinfo=UTC)),   # ambiguous: first occurrence (summer)
    ("2024-10-27 04:30:00", datetime(2024, 10, 27, 2, 30, tzinfo=UTC)),   # just after the repeated hour
    ("2024-03-31 03:30:00", datetime(2024, 3, 31, 1, 30, tzinfo=UTC)),    # in the spring gap: pre-gap offset
    ("2024-03-31 04:30:00", datetime(2024, 3, 31, 1, 30, tzinfo=UTC)),    # the same instant, after the gap
    ("2024-07-01", datetime(2024, 6, 30, 21, 0, tzinfo=UTC)),             # date only: local midnight
    ("2024-07-01T12:00:00+00:00", datetime(2024, 7, 1, 12, 0, tzinfo=UTC)),  # an explicit zone wins
])
def test_server_local_datetimes_become_utc_with_dst_rules(text: str, utc: datetime) -> None:
    value = convert_one("datetime", text)
    assert value == utc
    assert value.utcoffset() == timedelta(0)


@pytest.mark.parametrize(("type_", "text", "reason"), [
    ("integer", "abc", "integer expected, got 'abc'"),
    ("integer", "4.5", "integer expected, got '4.5'"),
    ("integer", "99999999999999999999", "integer out of the 64-bit range, got '99999999999999999999'"),
    ("decimal", "12a", "decimal expected, got '12a'"),
    ("decimal", "NaN", "decimal expected, got 'NaN'"),
    ("decimal", "1,234", "decimal expected, got '1,234': is the comma a decimal or a thousands separator?"),
    ("decimal", "1.234,5", "decimal expected, got '1.234,5'"),
    ("boolean", "yes", "boolean expected (1/0, true/false), got 'yes'"),
    ("date", "05/03/2024", "date expected (YYYY-MM-DD), got '05/03/2024'"),
    ("datetime", "2024-13-01 00:00:00", "datetime expected (YYYY-MM-DD HH:MM:SS), got '2024-13-01 00:00:00'"),
])
def test_a_bad_value_is_a_row_problem_naming_the_column_and_the_value(type_: str, text: str, reason: str) -> None:
    problem = convert_one(type_, text)
    assert (problem.index, problem.erp_key, problem.field, problem.reason) == (0, "key", "v", reason)


def test_defaults_replace_empty_values_and_are_converted_like_values() -> None:
    assert convert_one("string", "", default="n/a") == "n/a"
    assert convert_one("string", None, default="n/a") == "n/a"
    assert convert_one("string", "x", default="n/a") == "x"
    assert convert_one("integer", "", default="0") == 0
    assert convert_one("boolean", "", default="1") is True
    assert convert_one("datetime", "1899-12-30 00:00:00", default="2000-01-01 00:00:00") == \
        datetime(1999, 12, 31, 22, 0, tzinfo=UTC)
    assert convert_one("decimal", "abc", default="1").reason == "decimal expected, got 'abc'"


def test_an_unconvertible_default_is_a_mapping_error() -> None:
    with pytest.raises(ValidationError) as caught:
        MappingPlan.compile([FieldMapping("K", "k"), FieldMapping("V", "v", "integer", "zero")], ["k"], ATHENS)
    assert (caught.value.code, caught.value.field) == ("INVALID_MAPPING", "mappings[1].default")
    assert "integer expected, got 'zero'" in caught.value.message


def test_column_limits_round_decimals_to_the_scale_and_refuse_what_does_not_fit() -> None:
    limits = ColumnLimits(lengths={"v": 5}, numerics={"v": (6, 2)})
    assert convert_one("decimal", "1.005", limits=limits) == Decimal("1.01")
    assert convert_one("decimal", "10000", limits=limits).reason == \
        "decimal out of range for numeric(6, 2), got '10000'"
    assert convert_one("string", "abcdef", limits=limits).reason == "at most 5 characters expected, got 6"
    assert convert_one("string", "abcde", limits=limits) == "abcde"
    assert convert_one("string", "Αθήνα", limits=limits) == "Αθήνα"  # characters, not bytes
    assert convert_one("string", None, limits=limits) is None
    assert convert_one("string", 123456, limits=limits).reason == "string expected, got 123456"  # type: ignore[arg-type]


@pytest.mark.parametrize(("mappings", "keys", "field", "fragment"), [
    ([FieldMapping("A", "a"), FieldMapping("B", "A")], ["a"], "mappings[1].target", "mapped twice"),
    ([FieldMapping("A", "a")], ["b"], "keys[0]", "not a mapped target column"),
    ([FieldMapping("A", "a")], [], "keys", "at least one key"),
    ([FieldMapping("A", "a", "money")], ["a"], "mappings[0].type", "unknown type 'money'"),
    ([], ["a"], "mappings", "at least one mapping"),
])
def test_compile_refuses_bad_mappings(mappings: list[FieldMapping], keys: list[str], field: str,
                                      fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MappingPlan.compile(mappings, keys, ATHENS)
    assert (caught.value.code, caught.value.field) == ("INVALID_MAPPING", field)
    assert fragment in caught.value.message


def test_compile_refuses_an_unknown_server_zone() -> None:
    with pytest.raises(ValidationError) as caught:
        MappingPlan.compile([FieldMapping("A", "a")], ["a"], "Mars/Olympus")
    assert caught.value.code == "UNKNOWN_TIMEZONE"


def test_plan_exposes_columns_and_keys_in_mapping_order() -> None:
    plan = plan_for(keys=("trdr", "code"))
    assert plan.columns == ("code", "name", "active", "trdr", "balance", "updated_at", "birthday")
    assert plan.key_columns == ("trdr", "code")
    assert plan.key_indexes == (3, 0)


def test_sources_resolve_exactly_then_by_case_then_by_the_part_after_the_dot() -> None:
    plan = plan_for()
    bound = plan.bind(("X", *FIELDS))
    assert bound.positions == (1, 2, 3, 4, 5, 6, 7)
    assert plan.bind(("X", *FIELDS)) is bound


def test_a_source_missing_from_the_page_names_it_and_lists_the_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        plan_for().bind(("CUSTOMER.CODE", "CUSTOMER.NAME"))
    assert (caught.value.code, caught.value.field) == ("INVALID_MAPPING", "mappings[2].source")
    assert "'isactive'" in caught.value.message and "CUSTOMER.CODE, CUSTOMER.NAME" in caught.value.message
    assert caught.value.details["available"] == ["CUSTOMER.CODE", "CUSTOMER.NAME"]


def test_a_source_matching_two_fields_by_suffix_is_refused() -> None:
    plan = MappingPlan.compile([FieldMapping("CODE", "code")], ["code"], ATHENS)
    with pytest.raises(ValidationError) as caught:
        plan.bind(("CUSTOMER.CODE", "CUSEXTRA.CODE"))
    assert "several page fields" in caught.value.message


def test_map_rows_gives_parallel_values_keys_hashes_and_erp_keys() -> None:
    plan = plan_for()
    mapped = plan.bind(FIELDS).map_rows([row(), row(code="C002", name="Latin")], ["101", None])
    assert mapped.values[0] == ("C001", "Παπαδόπουλος Α.Ε.", True, 47, Decimal("399.95"),
                                datetime(2024, 7, 1, 9, 0, tzinfo=UTC), date(1980, 2, 1))
    assert mapped.keys == [("C001",), ("C002",)]
    assert mapped.key_texts == ["C001", "C002"]
    assert mapped.erp_keys == ["101", "C002"]
    assert mapped.indexes == [0, 1]
    assert all(len(h) == 64 for h in mapped.hashes) and mapped.hashes[0] != mapped.hashes[1]
    assert mapped.hashes[0] == plan.hash_values(mapped.values[0])
    assert mapped.errors == []


def test_bad_rows_are_left_out_and_reported_with_their_key() -> None:
    plan = plan_for()
    rows = [row(), row(code="C002", trdr="abc"), row(code="", name="no key"), ["C004", "short"], row(code="C005")]
    mapped = plan.bind(FIELDS).map_rows(rows, [None, None, "303", None, None])
    assert mapped.key_texts == ["C001", "C005"]
    assert mapped.indexes == [0, 4]
    assert [(p.index, p.erp_key, p.field) for p in mapped.errors] == [(1, "C002", "trdr"), (2, "303", "code"),
                                                                      (3, None, "(row)")]
    assert mapped.errors[0].reason == "integer expected, got 'abc'"
    assert mapped.errors[1].reason == "key code is empty"


def test_a_key_seen_twice_keeps_the_last_row_of_the_same_record_and_refuses_another_record() -> None:
    plan = plan_for()
    mapped = plan.bind(FIELDS).map_rows([row(name="old"), row(name="new"), row(name="other")], ["1", "1", "2"])
    assert [v[1] for v in mapped.values] == ["new"]
    assert mapped.indexes == [1]
    assert [(p.index, p.erp_key, p.field) for p in mapped.errors] == [(2, "2", "code")]
    assert "also used by ERP record '1'" in mapped.errors[0].reason


def test_composite_keys_have_a_json_text_that_parses_back() -> None:
    plan = plan_for(keys=("trdr", "code", "birthday"))
    mapped = plan.bind(FIELDS).map_rows([row()])
    assert mapped.keys == [(47, "C001", date(1980, 2, 1))]
    assert mapped.key_texts == ['[47,"C001","1980-02-01"]']
    assert plan.key_from_text(mapped.key_texts[0]) == mapped.keys[0]
    assert plan_for(keys=("trdr",)).key_from_text("47") == (47,)


def test_the_hash_tells_none_from_empty_and_ignores_how_a_number_or_instant_is_written() -> None:
    plan = plan_for()
    base = plan.bind(FIELDS).map_rows([row()]).values[0]
    same = plan.bind(FIELDS).map_rows([row(balance="399.950", trdr="47.0")]).values[0]
    assert plan.hash_values(base) == plan.hash_values(same)
    athens_summer = timezone(timedelta(hours=3))
    shifted = (*base[:5], datetime(2024, 7, 1, 12, 0, tzinfo=athens_summer), base[6])
    assert plan.hash_values(shifted) == plan.hash_values(base)
    assert plan.hash_values((*base[:1], "", *base[2:])) != plan.hash_values((*base[:1], None, *base[2:]))


def test_rows_read_back_from_a_database_coerce_to_the_same_values_and_hash() -> None:
    plan = plan_for()
    values = plan.bind(FIELDS).map_rows([row()]).values[0]
    sqlite_like = {"code": "C001", "name": "Παπαδόπουλος Α.Ε.", "active": 1, "trdr": 47, "balance": 399.95,
                   "updated_at": datetime(2024, 7, 1, 9, 0), "birthday": "1980-02-01"}
    postgres_like = {**sqlite_like, "active": True, "balance": Decimal("399.950000"),
                     "updated_at": datetime(2024, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=3))),
                     "birthday": date(1980, 2, 1)}
    for local in (sqlite_like, postgres_like):
        assert plan.local_values_from_row(local) == values
        assert plan.hash_values(plan.local_values_from_row(local)) == plan.hash_values(values)


def test_to_erp_writes_strings_by_field_name_in_server_local_time() -> None:
    plan = plan_for()
    values = dict(zip(plan.columns, plan.bind(FIELDS).map_rows([row()]).values[0], strict=True))
    assert plan.to_erp(values) == {"CODE": "C001", "NAME": "Παπαδόπουλος Α.Ε.", "isactive": "1", "TRDR": "47",
                                   "BALANCE": "399.95", "UPDDATE": "2024-07-01 12:00:00", "BIRTHDAY": "1980-02-01"}
    assert plan.to_erp({"active": False, "balance": Decimal("100.000000"), "birthday": None, "unmapped": 1}) == \
        {"isactive": "0", "BALANCE": "100", "BIRTHDAY": ""}
    assert plan.to_erp({"updated_at": datetime(2024, 1, 15, 10, 0)}) == {"UPDDATE": "2024-01-15 12:00:00"}
