"""Engines and sessions.

SQLite runs with WAL, foreign keys on, `synchronous=NORMAL` and a busy timeout, because the scheduler thread,
API threads and other processes write at once. A new SQLite file is created readable by its owner only, like the
secret files beside it (SQLite gives its -wal and -shm files the database file's mode). PostgreSQL uses psycopg 3.
Nothing connects at import.
"""

from __future__ import annotations

import json
import os
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from erp_sync.errors import ConfigurationError

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is switched off so that SQLAlchemy's BEGIN is the real one;
    # "BEGIN IMMEDIATE" is then issued by `begin_immediate` where a writer must not be upgraded later.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _on_sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _json(value: Any) -> str:
    # Greek text stays readable in JSON columns (run details, conflicts) instead of \u escapes.
    return json.dumps(value, ensure_ascii=False)


def _create_sqlite_file_privately(url: str) -> None:
    """Create the URL's SQLite file with mode 0600 if it does not exist yet; an existing file keeps its mode."""
    parsed = make_url(url)
    path = parsed.database
    if not path or path == ":memory:" or path.startswith("file:") or parsed.query.get("uri") or os.path.exists(path):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    except IsADirectoryError:
        return  # SQLite says what is wrong with that on connect
    except OSError as exc:
        raise ConfigurationError(
            f"the SQLite file {path} cannot be created ({exc.strerror or exc}): make sure its folder exists and this "
            "user can write it, or point ERP_SYNC_DATABASE_URL elsewhere", field="ERP_SYNC_DATABASE_URL") from None


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`, tuned for the dialect."""
    if url.startswith("sqlite"):
        _create_sqlite_file_privately(url)
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
                               json_serializer=_json)
        event.listen(engine, "connect", _on_sqlite_connect)
        # Every transaction takes the write lock up front: a deferred transaction that reads and then writes
        # fails with "database is locked" instead of waiting when another writer got in between.
        event.listen(engine, "begin", _on_sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10, json_serializer=_json)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
