"""A writer's insert_rows (multi-row VALUES on SQLite) must write exactly what executemany of the one-row statement
writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from erp_sync.db import bulk
from erp_sync.db.engine import make_engine
from erp_sync.db.writers import sqlite as sqlite_writer
from erp_sync.db.writers import writer_for


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        for name in ("via_insert_rows", "via_run_many"):
            conn.execute(sa.text(f"CREATE TABLE {name} (k INTEGER PRIMARY KEY, a VARCHAR(20), n INTEGER)"))
    yield engine
    engine.dispose()


def _marks(engine: Engine) -> str:
    return "?" if engine.dialect.name == "sqlite" else "%s"


def _upsert(engine: Engine, table: str) -> str:
    p = _marks(engine)
    return (f"INSERT INTO {table} AS t (k, a, n) VALUES ({p}, {p}, {p}) ON CONFLICT (k) DO UPDATE SET "
            "a = excluded.a, n = excluded.n WHERE (t.a, t.n) IS DISTINCT FROM (excluded.a, excluded.n)"
            ).replace("IS DISTINCT FROM", "IS NOT" if engine.dialect.name == "sqlite" else "IS DISTINCT FROM")


def _contents(engine: Engine, table: str) -> list[tuple[int, str, int]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(f"SELECT k, a, n FROM {table} ORDER BY k"))]


def test_rows_over_several_statements_are_written_in_order_like_executemany(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_writer, "ROWS_PER_INSERT", 100)
    first = [(k, f"v{k}", k % 7) for k in range(1, 1235)]
    # keys repeated inside one statement (5 and 6 next to each other) and across statements (10 and 1200)
    again = [(5, "x", 1), (6, "y", 2), (5, "last", 3), *[(k, f"v{k}", k % 7) for k in range(7, 400)],
             (10, "ten", 0), (1200, "first", 0), *[(k, f"w{k}", 0) for k in range(1230, 1240)], (1200, "won", 9)]
    counts = {}
    for table, write in (("via_insert_rows", writer_for(engine).insert_rows), ("via_run_many", bulk.run_many)):
        with engine.begin() as conn:
            counts[table] = (write(conn, _upsert(engine, table), first), write(conn, _upsert(engine, table), again))
    assert counts["via_insert_rows"] == (1234, 16)  # 3 writes of key 5, 6, 10, 1200 twice, 10 new or changed
    assert counts["via_run_many"] == counts["via_insert_rows"]
    rows = _contents(engine, "via_insert_rows")
    assert rows == _contents(engine, "via_run_many")
    by_key = {k: (a, n) for k, a, n in rows}
    assert (by_key[5], by_key[10], by_key[1200], by_key[1239]) == (("last", 3), ("ten", 0), ("won", 9), ("w1239", 0))
    assert len(rows) == 1239


def test_do_nothing_counts_only_the_rows_it_inserted(engine: Engine) -> None:
    p = _marks(engine)
    sql = f"INSERT INTO via_insert_rows (k, a, n) VALUES ({p}, {p}, {p}) ON CONFLICT (k) DO NOTHING"
    with engine.begin() as conn:
        assert writer_for(engine).insert_rows(conn, sql, [(k, "a", 0) for k in range(600)]) == 600
        assert writer_for(engine).insert_rows(conn, sql, [(k, "b", 1) for k in range(590, 610)]) == 10
    assert {a for _, a, _ in _contents(engine, "via_insert_rows")} == {"a", "b"}


def test_sqlite_statements_stay_under_the_bound_variable_limit(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'limit.sqlite3'}")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (k INTEGER PRIMARY KEY, a TEXT, n INTEGER)"))
            conn.connection.driver_connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 20)
            with pytest.raises(sa.exc.OperationalError, match="too many SQL variables"):
                bulk.execute(conn, "SELECT " + ", ".join("?" * 21), list(range(21)))
            written = writer_for(engine).insert_rows(conn, "INSERT INTO t (k, a, n) VALUES (?, ?, ?)",
                                       [(k, "a", k) for k in range(100)])  # 6 rows (18 variables) a statement
            assert written == 100
            assert conn.execute(sa.text("SELECT count(*), sum(n) FROM t")).one() == (100, 4950)
    finally:
        engine.dispose()


def test_a_statement_that_is_not_for_one_row_of_that_width_is_refused(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'refuse.sqlite3'}")
    try:
        with engine.begin() as conn, pytest.raises(ValueError, match="one row of 2 values"):
            writer_for(engine).insert_rows(conn, "INSERT INTO t (k, a, n) VALUES (?, ?, ?)", [(1, "a")])
    finally:
        engine.dispose()
