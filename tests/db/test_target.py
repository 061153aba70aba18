"""db.target on SQLite and PostgreSQL: reflection and checks, createIfMissing, the upsert and the round trip."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from erp_sync.db.engine import make_engine
from erp_sync.db.target import TargetTable, Upserter, schema_exists
from erp_sync.domain.mapping import FieldMapping, MappedRows, MappingPlan
from erp_sync.errors import ValidationError

HOSTILE = 'x"; DROP TABLE y; --'
FIELDS = ("CUSTOMER.CODE", "CUSTOMER.NAME", "CUSTOMER.ISACTIVE", "CUSTOMER.TRDR", "CUSTOMER.BALANCE",
          "CUSTOMER.UPDDATE", "CUSTOMER.BIRTHDAY")
MAPPINGS = [
    FieldMapping("CODE", "code"), FieldMapping("NAME", "name"), FieldMapping("ISACTIVE", "active", "boolean"),
    FieldMapping("TRDR", "trdr", "integer"), FieldMapping("BALANCE", "balance", "decimal"),
    FieldMapping("UPDDATE", "updated_at", "datetime"), FieldMapping("BIRTHDAY", "birthday", "date"),
]
ROWS = [
    ["C001", "Παπαδόπουλος Α.Ε. «Ερμής»", "1", "47", "399.95", "2024-10-27 03:30:00", "1980-02-01"],
    ["C002", "Müller & Söhne", "0", "", "-0.000001", "1899-12-30 00:00:00", ""],
    ["C003", "", "", "9223372036854775807", "123456789.123456", "2024-03-31 03:30:00.250000", "1899-12-30"],
]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def plan_and_table(engine: Engine, name: str = "customers") -> tuple[MappingPlan, TargetTable]:
    plan = MappingPlan.compile(MAPPINGS, ["code"], "Europe/Athens")
    target = TargetTable.create(engine, name, None, plan.typed_columns, ["code"])
    return MappingPlan.compile(MAPPINGS, ["code"], "Europe/Athens", limits=target.limits()), target


def mapped(plan: MappingPlan, rows: list[list[str]]) -> MappedRows:
    result = plan.bind(FIELDS).map_rows(rows)
    assert result.errors == []
    return result


def make_table(engine: Engine, name: str, *columns: sa.Column | sa.Index | sa.Constraint) -> None:
    sa.Table(name, sa.MetaData(), *columns).create(engine)


def big_page_setup(engine: Engine, shape: str) -> tuple[MappingPlan, Upserter, list[list[str]]]:
    """A created table, or a legacy one with column types binary COPY does not cover (CHAR, an integer kept in
    NUMERIC), its upserter with a COPY threshold of 200, and 600 ERP rows."""
    if shape == "created":
        plan, target = plan_and_table(engine)
    else:
        make_table(engine, "customers",
                   sa.Column("code", sa.CHAR(10), primary_key=True), sa.Column("name", sa.Text),
                   sa.Column("active", sa.Boolean), sa.Column("trdr", sa.Numeric(20, 0)),
                   sa.Column("balance", sa.Float), sa.Column("updated_at", sa.DateTime(timezone=True)),
                   sa.Column("birthday", sa.Date))
        target = TargetTable.reflect(engine, "customers")
        plan = MappingPlan.compile(MAPPINGS, ["code"], "Europe/Athens", limits=target.limits())
    upserter = Upserter(target, plan.typed_columns, ["code"], copy_threshold=200)
    rows = [[f"K{i:04d}", f"όνομα {i}", "1", str(i), f"{i}.5", "2024-07-01 12:00:00", "2000-01-01"]
            for i in range(600)]
    return plan, upserter, rows


def test_an_absent_table_is_unknown_table(engine: Engine) -> None:
    with pytest.raises(ValidationError) as caught:
        TargetTable.reflect(engine, "nowhere")
    assert (caught.value.code, caught.value.field) == ("UNKNOWN_TABLE", "target.table")


def test_hostile_identifiers_are_refused_and_nothing_runs(engine: Engine) -> None:
    make_table(engine, "y", sa.Column("id", sa.Integer, primary_key=True))
    for call, field in [
        (lambda: TargetTable.reflect(engine, HOSTILE), "target.table"),
        (lambda: TargetTable.reflect(engine, "y", schema=HOSTILE), "target.schema"),
        (lambda: TargetTable.create(engine, HOSTILE, None, [("a", "string")], ["a"]), "target.table"),
        (lambda: TargetTable.create(engine, "ok", None, [("a", "string"), (HOSTILE, "string")], ["a"]),
         "mappings[1].target"),
    ]:
        with pytest.raises(ValidationError) as caught:
            call()
        assert (caught.value.code, caught.value.field) == ("VALIDATION_ERROR", field)
    with pytest.raises(ValidationError) as caught:
        TargetTable.reflect(engine, "y").check_columns(["id", HOSTILE])
    assert (caught.value.code, caught.value.field) == ("UNKNOWN_COLUMN", "mappings[1].target")
    assert sa.inspect(engine).has_table("y") and not sa.inspect(engine).has_table("ok")


def test_erp_syncs_own_tables_and_catalogs_are_forbidden_to_reflect_and_to_create(engine: Engine) -> None:
    make_table(engine, "erp_sync_runs", sa.Column("id", sa.Integer, primary_key=True))
    make_table(engine, "alembic_version", sa.Column("version_num", sa.String(32), primary_key=True))
    for call, field in [
        (lambda: TargetTable.reflect(engine, "erp_sync_runs"), "target.table"),
        (lambda: TargetTable.reflect(engine, "ERP_SYNC_RUNS"), "target.table"),
        (lambda: TargetTable.reflect(engine, "alembic_version"), "target.table"),
        (lambda: TargetTable.reflect(engine, "sqlite_master"), "target.table"),
        (lambda: TargetTable.reflect(engine, "pg_class", schema="pg_catalog"), "target.schema"),
        (lambda: TargetTable.create(engine, "erp_sync_new", None, [("a", "string")], ["a"]), "target.table"),
        (lambda: TargetTable.create(engine, "fresh", "temp", [("a", "string")], ["a"]), "target.schema"),
    ]:
        with pytest.raises(ValidationError) as caught:
            call()
        assert (caught.value.code, caught.value.field) == ("FORBIDDEN_TARGET", field)
    inspector = sa.inspect(engine)
    assert not inspector.has_table("erp_sync_new") and not inspector.has_table("fresh")


def test_a_schema_that_does_not_exist_is_unknown_schema_to_reflect_and_to_create(engine: Engine) -> None:
    assert schema_exists(engine, "main" if engine.dialect.name == "sqlite" else "public")
    assert not schema_exists(engine, "nope")
    for call in [lambda: TargetTable.reflect(engine, "customers", schema="nope"),
                 lambda: TargetTable.create(engine, "customers", "nope", [("a", "string")], ["a"])]:
        with pytest.raises(ValidationError) as caught:
            call()
        assert (caught.value.code, caught.value.field) == ("UNKNOWN_SCHEMA", "target.schema")
        assert "'nope'" in caught.value.message


def test_an_unknown_column_names_the_column_its_mapping_and_the_columns(engine: Engine) -> None:
    make_table(engine, "people", sa.Column("code", sa.String(20), primary_key=True), sa.Column("name", sa.Text))
    target = TargetTable.reflect(engine, "people")
    target.check_columns(["code", "name"])
    with pytest.raises(ValidationError) as caught:
        target.check_columns(["code", "Name", "email"])
    error = caught.value
    assert (error.code, error.field) == ("UNKNOWN_COLUMN", "mappings[1].target")
    assert "'Name'" in error.message and "did you mean 'name'?" in error.message and "code, name" in error.message
    assert error.details["columns"] == ["code", "name"]


def test_the_unique_key_must_be_a_primary_key_or_a_full_unique_index_on_exactly_the_keys(engine: Engine) -> None:
    make_table(engine, "keyed",
               sa.Column("id", sa.Integer, primary_key=True), sa.Column("code", sa.String(20), unique=True),
               sa.Column("a", sa.Integer), sa.Column("b", sa.Integer), sa.Column("c", sa.Integer),
               sa.Column("d", sa.Integer),
               sa.Index("ix_keyed_ab", "a", "b", unique=True),
               sa.Index("ix_keyed_c", "c", unique=True, sqlite_where=sa.text("d > 0"),
                        postgresql_where=sa.text("d > 0")),
               sa.Index("ix_keyed_d", "d"))
    target = TargetTable.reflect(engine, "keyed")
    for keys in (["id"], ["code"], ["b", "a"]):
        target.check_unique_key(keys)
    for keys in (["c"], ["d"], ["a"], ["code", "a"]):
        with pytest.raises(ValidationError) as caught:
            target.check_unique_key(keys)
        assert (caught.value.code, caught.value.field) == ("UNIQUE_KEY_MISSING", "keys")
        assert ", ".join(keys) in caught.value.message
    with pytest.raises(ValidationError) as caught:
        target.check_unique_key(["nope"])
    assert (caught.value.code, caught.value.field) == ("UNKNOWN_COLUMN", "keys[0]")


def test_create_if_missing_makes_a_keyed_table_once(engine: Engine) -> None:
    plan, target = plan_and_table(engine)
    again = TargetTable.create(engine, "customers", None, plan.typed_columns, ["code"])
    assert target.columns == again.columns == list(plan.columns)
    target.check_unique_key(["code"])
    kinds = [target.kind(c) for c in plan.columns]
    assert kinds == ["text", "text", "boolean", "integer", "numeric", "datetime", "date"]
    assert target.limits().numerics["balance"] == (18, 6)


def test_a_created_table_shows_its_unique_key_whatever_schema_the_pooled_connections_read_before(
        engine: Engine) -> None:
    make_table(engine, "earlier", sa.Column("id", sa.Integer, primary_key=True))
    warm = [engine.raw_connection() for _ in range(6)]  # as a serving process's readers leave the pool
    for connection in warm:
        cursor = connection.cursor()
        cursor.execute("SELECT count(*) FROM earlier")  # reads the schema before the table exists
        cursor.fetchall()
        cursor.close()
        connection.commit()
    for connection in warm:
        connection.close()
    plan = MappingPlan.compile(MAPPINGS, ["code"], "Europe/Athens")
    created = TargetTable.create(engine, "customers", None, plan.typed_columns, ["code"])
    created.check_unique_key(["code"])
    for _ in range(6):  # every pooled connection in turn
        TargetTable.reflect(engine, "customers").check_unique_key(["code"])


def test_mapped_values_read_back_equal_and_hash_the_same(engine: Engine) -> None:
    plan, target = plan_and_table(engine)
    page = mapped(plan, ROWS)
    upserter = Upserter(target, plan.typed_columns, ["code"])
    with engine.begin() as conn:
        assert upserter.upsert(conn, page.values) == 3
    with engine.begin() as conn:
        local = [plan.local_values_from_row(row) for row in upserter.iter_rows(conn, batch_size=2)]
    local.sort(key=lambda values: values[0])
    assert local == page.values
    assert [plan.hash_values(values) for values in local] == page.hashes
    assert local[0][1] == "Παπαδόπουλος Α.Ε. «Ερμής»"


def test_a_hand_made_table_with_other_column_types_round_trips_too(engine: Engine) -> None:
    make_table(engine, "legacy",
               sa.Column("code", sa.String(10), primary_key=True), sa.Column("name", sa.String(40)),
               sa.Column("active", sa.Integer), sa.Column("trdr", sa.Text), sa.Column("balance", sa.Numeric(14, 2)),
               sa.Column("updated_at", sa.DateTime(timezone=False)), sa.Column("birthday", sa.Text),
               sa.Column("note", sa.Text))
    target = TargetTable.reflect(engine, "legacy")
    plan = MappingPlan.compile(MAPPINGS, ["code"], "Europe/Athens", limits=target.limits())
    page = plan.bind(FIELDS).map_rows([*ROWS, ["C004", "x" * 41, "1", "1", "1", "", ""]])
    assert [(p.field, p.reason) for p in page.errors] == [("name", "at most 40 characters expected, got 41")]
    upserter = Upserter(target, plan.typed_columns, ["code"])
    with engine.begin() as conn:
        upserter.upsert(conn, page.values)
        rows = upserter.fetch_rows(conn, page.keys)
    for row_hash, key in zip(page.hashes, page.keys, strict=True):
        assert plan.hash_values(plan.local_values_from_row(rows[key])) == row_hash
    assert rows[("C001",)]["balance"] == page.values[0][4]


def test_upsert_inserts_then_rewrites_only_the_rows_that_changed(engine: Engine) -> None:
    plan, target = plan_and_table(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE customers ADD COLUMN note VARCHAR(20)"))
    upserter = Upserter(target, plan.typed_columns, ["code"])
    with engine.begin() as conn:
        assert upserter.upsert(conn, mapped(plan, ROWS).values) == 3
        conn.execute(sa.text("UPDATE customers SET note = 'local'"))
    versions = _row_versions(engine)
    changed = [list(r) for r in ROWS]
    changed[1][1] = "Müller & Söhne GmbH"
    with engine.begin() as conn:
        assert upserter.upsert(conn, mapped(plan, changed).values) == 1
        assert upserter.upsert(conn, mapped(plan, changed).values) == 0
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT code, name, note FROM customers ORDER BY code")).all()
    assert [tuple(r) for r in rows] == [("C001", ROWS[0][1], "local"), ("C002", "Müller & Söhne GmbH", "local"),
                                        ("C003", "", "local")]
    after = _row_versions(engine)
    if versions:
        assert after["C001"] == versions["C001"] and after["C003"] == versions["C003"]
        assert after["C002"] != versions["C002"]


def _row_versions(engine: Engine) -> dict[str, str]:
    """PostgreSQL's xmin per row: it changes only when a row is rewritten (no equivalent on SQLite)."""
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT code, xmin::text FROM customers")).all())


@pytest.mark.parametrize("shape", ["created", "legacy"])
def test_big_pages_merge_the_same_way_and_a_repeated_key_is_written_once(engine: Engine, shape: str) -> None:
    """On PostgreSQL pages over the threshold are COPYed and merged: binary COPY for the created table, text COPY
    for a table with column types binary COPY does not cover (CHAR, an integer kept in NUMERIC)."""
    plan, upserter, rows = big_page_setup(engine, shape)
    page = mapped(plan, rows)
    with engine.begin() as conn:
        assert upserter.upsert(conn, [*page.values, page.values[10]]) == 600
        assert upserter.upsert(conn, page.values) == 0
    rows[5][1] = "renamed"
    with engine.begin() as conn:
        assert upserter.upsert(conn, mapped(plan, rows).values) == 1
        local = {plan.local_values_from_row(row)[0]: row for row in upserter.iter_rows(conn)}
        fetched = upserter.fetch_rows(conn, [("K0123",)])
    assert len(local) == 600 and local["K0005"]["name"] == "renamed"
    assert plan.hash_values(plan.local_values_from_row(fetched[("K0123",)])) == page.hashes[123]


@pytest.mark.parametrize("shape", ["created", "legacy"])
def test_insert_absent_fills_an_empty_table_and_says_so_when_a_key_was_there_after_all(engine: Engine,
                                                                                      shape: str) -> None:
    """A first load into an empty table: PostgreSQL COPYs big pages straight in (binary for the created table,
    text for the legacy one); a key already there makes it answer False with nothing written."""
    plan, upserter, rows = big_page_setup(engine, shape)
    page = mapped(plan, rows)
    with engine.begin() as conn:
        assert upserter.is_empty(conn)
        assert upserter.insert_absent(conn, [*page.values[:300], page.values[10]])
        assert not upserter.is_empty(conn)
    with engine.begin() as conn:
        local = [plan.local_values_from_row(row) for row in upserter.iter_rows(conn)]
    hashes = dict(zip(page.key_texts, page.hashes, strict=True))
    assert len(local) == 300 and all(plan.hash_values(values) == hashes[values[0]] for values in local)
    with engine.connect() as conn:
        written = upserter.insert_absent(conn, page.values[299:])  # K0299 is there
        conn.rollback()
    if engine.dialect.name == "postgresql":
        assert written is False
        with engine.connect() as conn:
            assert sum(1 for _ in upserter.iter_rows(conn)) == 300
    else:  # SQLite writes through its upsert, which settles the key itself
        assert written is True


def test_deleting_and_soft_deleting_by_key_and_reviving_on_upsert(engine: Engine) -> None:
    make_table(engine, "soft",
               sa.Column("code", sa.String(10)), sa.Column("branch", sa.Integer), sa.Column("name", sa.Text),
               sa.Column("deleted_at", sa.DateTime(timezone=True)), sa.Column("gone", sa.Boolean),
               sa.UniqueConstraint("code", "branch"))
    target = TargetTable.reflect(engine, "soft")
    columns = [("code", "string"), ("branch", "integer"), ("name", "string")]
    upserter = Upserter(target, columns, ["code", "branch"], soft_delete_column="deleted_at")
    when = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)
    with engine.begin() as conn:
        upserter.upsert(conn, [("A", 1, "a1"), ("A", 2, "a2"), ("B", 1, "b1")])
        assert upserter.soft_delete_keys(conn, [("A", 1), ("A", 2)], "deleted_at", when) == 2
        assert upserter.soft_delete_keys(conn, [("A", 1)], "deleted_at", when) == 0
        assert upserter.soft_delete_keys(conn, [("A", 1)], "gone", when) == 1
        assert upserter.soft_delete_keys(conn, [("A", 1)], "gone", when) == 0
        assert upserter.delete_keys(conn, [("B", 1), ("Z", 9)]) == 1
        found = upserter.fetch_rows(conn, [("A", 1), ("A", 2), ("B", 1)])
    assert set(found) == {("A", 1), ("A", 2)}
    assert found[("A", 2)]["deleted_at"].astimezone(UTC) == when and found[("A", 1)]["gone"] is True
    with engine.begin() as conn:
        assert upserter.upsert(conn, [("A", 2, "a2")]) == 1
        assert upserter.upsert(conn, [("A", 2, "a2")]) == 0
        assert upserter.fetch_rows(conn, [("A", 2)])[("A", 2)]["deleted_at"] is None
    flagged = Upserter(target, columns, ["code", "branch"], soft_delete_column="gone")
    with engine.begin() as conn:
        assert flagged.upsert(conn, [("A", 2, "a2")]) == 0  # an empty flag is not deleted: nothing to rewrite
        assert flagged.upsert(conn, [("A", 1, "a1")]) == 1
        assert flagged.fetch_rows(conn, [("A", 1)])[("A", 1)]["gone"] is False
    with pytest.raises(ValidationError) as caught, engine.begin() as conn:
        upserter.soft_delete_keys(conn, [("A", 1)], "name", when)
    assert caught.value.field == "softDeleteColumn"


def test_a_column_that_cannot_hold_the_mapped_type_is_refused(engine: Engine) -> None:
    make_table(engine, "typed", sa.Column("code", sa.String(10), primary_key=True), sa.Column("n", sa.Integer))
    target = TargetTable.reflect(engine, "typed")
    with pytest.raises(ValidationError) as caught:
        Upserter(target, [("code", "string"), ("n", "datetime")], ["code"])
    assert (caught.value.code, caught.value.field) == ("INVALID_MAPPING", "mappings[1].type")


def test_database_errors_surface_as_sqlalchemy_errors(engine: Engine) -> None:
    make_table(engine, "strict", sa.Column("code", sa.String(10), primary_key=True),
               sa.Column("name", sa.Text, nullable=False))
    upserter = Upserter(TargetTable.reflect(engine, "strict"), [("code", "string"), ("name", "string")], ["code"])
    with pytest.raises(sa.exc.IntegrityError) as caught, engine.begin() as conn:
        upserter.upsert(conn, [("A", "a"), ("B", None)])
    assert "INSERT INTO" in str(caught.value.statement)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM strict")).scalar_one() == 0


def test_writes_on_a_fresh_connection_join_the_transaction_the_caller_ends(engine: Engine) -> None:
    make_table(engine, "plain", sa.Column("code", sa.String(10), primary_key=True), sa.Column("name", sa.Text))
    upserter = Upserter(TargetTable.reflect(engine, "plain"), [("code", "string"), ("name", "string")], ["code"])
    with engine.connect() as conn:
        assert upserter.upsert(conn, [("A", "a")]) == 1
        conn.rollback()
        assert upserter.upsert(conn, [("B", "b")]) == 1
        conn.commit()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT code FROM plain")).scalars().all() == ["B"]
