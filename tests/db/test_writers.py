"""db.writers: one bulk writer per dialect, and its fast paths (PostgreSQL's merge from JSON columns and COPY of new
bindings above MERGE_THRESHOLD) leave exactly what its row-by-row statements leave."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.dialects import mysql

from erp_sync.db.models import BINDINGS
from erp_sync.db.writers import writer_for
from erp_sync.db.writers.postgres import LOOKUP, MERGE_THRESHOLD, STALE_SOURCES, PostgresWriter
from erp_sync.db.writers.sqlite import SqliteWriter

T0 = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


def _bindings(engine: Engine, integration_id: int) -> list[tuple[object, ...]]:
    columns = [BINDINGS.c[name] for name in ("erp_key", "local_key", "row_hash", "source_hash", "synced_at")]
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(
            sa.select(*columns).where(BINDINGS.c.integration_id == integration_id).order_by(BINDINGS.c.erp_key))]


def _page(count: int, prefix: str) -> list[tuple[str, str, str, str | None]]:
    return [(f"{i:04d}", f"C{i}", f"{prefix}{i}", None if i % 7 == 0 else f"s{prefix}{i}") for i in range(count)]


def test_the_writer_is_chosen_by_the_dialect_the_same_for_an_engine_its_connections_and_its_dialect(
        engine: Engine) -> None:
    expected = PostgresWriter if engine.dialect.name == "postgresql" else SqliteWriter
    with engine.connect() as conn:
        assert isinstance(writer_for(conn), expected)
        assert writer_for(conn) is writer_for(engine) is writer_for(engine.dialect)
    with pytest.raises(ValueError, match="SQLite or PostgreSQL, not mysql"):
        writer_for(mysql.dialect())


def test_a_big_page_of_bindings_in_one_write_leaves_what_small_pages_leave(engine: Engine) -> None:
    count = MERGE_THRESHOLD * 2 + 50
    first, again = _page(count, "a"), [*_page(count, "b")[::2], ("0004", "C-last", "last", "s-last")]
    writer = writer_for(engine)
    with engine.begin() as conn:
        assert writer.insert_new_bindings(conn, 1, first, T0) == count
        for start in range(0, count, 100):
            writer.insert_new_bindings(conn, 2, first[start:start + 100], T0)
    with engine.begin() as conn:
        writer.upsert_bindings(conn, 1, again, T0)  # one merge on PostgreSQL; a repeated key keeps its last row
        for start in range(0, len(again), 100):
            writer.upsert_bindings(conn, 2, again[start:start + 100], T0)
    written = _bindings(engine, 1)
    assert written == _bindings(engine, 2)
    assert len(written) == count
    assert written[4][1:4] == ("C-last", "last", "s-last") and written[2][1:4] == ("C2", "b2", "sb2")
    assert written[3][1:4] == ("C3", "a3", "sa3") and written[0][3] is None


def test_postgresql_probes_each_key_on_the_primary_key_even_on_statistics_that_lack_the_integration(
        engine: Engine) -> None:
    """Statistics taken when the table held one page of integration 1 say that integration 2 has no bindings; the
    page lookups must still probe the primary key, not scan all of integration 2's bindings through the
    (integration_id, local_key) index for every key."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's lookups are IN-lists that it plans on the primary key without statistics")
    with engine.begin() as conn:
        writer_for(conn).insert_new_bindings(conn, 1, _page(300, "a"), T0)
        conn.exec_driver_sql("ANALYZE erp_sync_bindings")
    with engine.begin() as conn:
        writer_for(conn).insert_new_bindings(conn, 2, _page(5000, "b"), T0)
    keys = orjson.dumps([f"{i:04d}" for i in range(0, 5000, 10)]).decode()
    lookups = [(LOOKUP.format(column="row_hash"), (keys, 2)), (STALE_SOURCES, (keys, keys, 2))]
    with engine.connect() as conn:
        plans = ["\n".join(conn.exec_driver_sql("EXPLAIN " + sql, params).scalars()) for sql, params in lookups]
    assert ["pk_erp_sync_bindings" in plan and "ix_erp_sync_bindings_local" not in plan for plan in plans] == [
        True, True], plans
