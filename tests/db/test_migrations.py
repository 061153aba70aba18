"""Migrations: `alembic upgrade head` builds the schema on both databases, and the models match it exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from erp_sync.db.engine import make_engine
from erp_sync.db.migrate import current, upgrade
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
    assert current(database_url) == "0001"


def test_upgrade_is_idempotent(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert current(database_url) == "0001"
