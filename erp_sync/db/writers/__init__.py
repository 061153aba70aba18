"""One bulk writer per dialect (`base.BulkWriter`), chosen once by `writer_for`."""

from __future__ import annotations

from sqlalchemy import Connection, Dialect, Engine

from erp_sync.db.writers.base import BulkWriter
from erp_sync.db.writers.postgres import PostgresWriter
from erp_sync.db.writers.sqlite import SqliteWriter

_WRITERS: dict[str, BulkWriter] = {"sqlite": SqliteWriter(), "postgresql": PostgresWriter()}

__all__ = ["BulkWriter", "writer_for"]


def writer_for(bind: Connection | Engine | Dialect) -> BulkWriter:
    """The bulk writer of this connection's, engine's or dialect's database (SQLite or PostgreSQL)."""
    name = bind.name if isinstance(bind, Dialect) else bind.dialect.name
    try:
        return _WRITERS[name]
    except KeyError:
        raise ValueError(f"erp-sync writes to SQLite or PostgreSQL, not {name}") from None
