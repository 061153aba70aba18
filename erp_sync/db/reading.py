"""Long reads that must not hold up writers.

On SQLite every transaction of the main engine starts with BEGIN IMMEDIATE, which takes the write lock (so that a
writer is never upgraded late). A statistics query over a million runs must not hold that lock for its whole
duration while runs wait to commit their pages, so on SQLite these reads go through a second engine whose
connections read in WAL mode without a write lock (read only, no pool kept). PostgreSQL reads never block
writers; there the main engine is used as it is.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool

from erp_sync.db.engine import SQLITE_BUSY_TIMEOUT_MS

_READERS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # each statement reads its own consistent WAL snapshot
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA query_only = ON")
    cursor.close()


def reader(engine: Engine) -> Engine:
    """The engine to run long reads on: `engine` itself, or on SQLite its lock-free reading twin."""
    if engine.dialect.name != "sqlite":
        return engine
    twin = _READERS.get(engine)
    if twin is None:
        twin = create_engine(engine.url, poolclass=NullPool, connect_args={"check_same_thread": False})
        event.listen(twin, "connect", _on_connect)
        _READERS[engine] = twin
    return twin
