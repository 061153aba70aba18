"""Migrations: `alembic upgrade head` builds the schema on both databases, and the models match it exactly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from erp_sync.db.engine import make_engine
from erp_sync.db.migrate import alembic_config, current, upgrade
from erp_sync.db.models import Base


def test_upgrade_head_creates_every_table_and_autogenerate_finds_no_difference(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "compare_type": True,
                "include_name": lambda name, type_, _: type_ != "table" or bool(name and name.startswith("erp_sync_")),
            })
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
        tables = set(inspect(engine).get_table_names())
        assert {"erp_sync_integrations", "erp_sync_runs", "erp_sync_bindings", "erp_sync_conflicts",
                "erp_sync_row_errors"} <= tables
        unique = inspect(engine).get_unique_constraints("erp_sync_runs")
        assert any(set(u["column_names"]) == {"integration_id", "scheduled_for"} for u in unique)
    finally:
        engine.dispose()
    assert current(database_url) == "0005"


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert current(database_url) == "0005"


def test_upgrading_from_0001_keeps_every_binding_and_leaves_its_source_hash_to_the_next_run(database_url: str) -> None:
    upgrade(database_url, "0001")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO erp_sync_integrations (id, name, connector, connection, source, target_table, "
                "create_if_missing, mappings, keys, cron_expression, timezone, is_active, direction, conflict_policy, "
                "delete_policy, options, lease_token, created_at, updated_at) VALUES (1, 'old', 'softone', '{}', "
                "'{}', 'customers', FALSE, '[]', '[]', '0 * * * *', 'UTC', TRUE, 'one_way', 'erp_wins', 'ignore', "
                "'{}', 0, :t, :t)"), {"t": "2026-01-01T00:00:00+00:00"})
            conn.execute(text("INSERT INTO erp_sync_bindings (integration_id, erp_key, local_key, row_hash, synced_at) "
                              "VALUES (1, '42', 'C42', 'h42', :t)"), {"t": "2026-01-01T00:00:00+00:00"})
        upgrade(database_url)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT erp_key, local_key, row_hash, source_hash FROM erp_sync_bindings")).one()
    finally:
        engine.dispose()
    assert tuple(row) == ("42", "C42", "h42", None)
    assert current(database_url) == "0005"
    engine = make_engine(database_url)
    try:  # 0003: bindings keep no foreign key (the code guarantees it, see models.Binding); runs keep theirs
        assert inspect(engine).get_foreign_keys("erp_sync_bindings") == []
        assert [fk["referred_table"] for fk in inspect(engine).get_foreign_keys("erp_sync_runs")] == [
            "erp_sync_integrations"]
    finally:
        engine.dispose()


def test_downgrading_0003_drops_orphaned_bindings_and_restores_the_foreign_key(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO erp_sync_bindings (integration_id, erp_key, local_key, row_hash, synced_at) "
                              "VALUES (99, '1', 'C1', 'h1', :t)"), {"t": "2026-01-01T00:00:00+00:00"})
        command.downgrade(alembic_config(database_url), "0002")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM erp_sync_bindings")).scalar_one() == 0
        assert [fk["referred_table"] for fk in inspect(engine).get_foreign_keys("erp_sync_bindings")] == [
            "erp_sync_integrations"]
    finally:
        engine.dispose()
    assert current(database_url) == "0002"
