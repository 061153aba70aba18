"""What a dialect's bulk writer does, and the parts of the binding statements that every dialect shares.

A `BulkWriter` holds one dialect's SQL text and fast paths for the writes and lookups of a sync run: the bindings'
page lookups and writes (`db.bindings` calls them) and a target page's upsert (`db.target.Upserter` calls them).
The choice between dialects is made once, by `writer_for`; nothing else asks which database it talks to. The
writers run inside the caller's transaction, through the DBAPI cursor (`db.bulk`), with no RETURNING and no ORM
(docs/performance.md#driver-level-writes).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection

from erp_sync.db.bulk import run_many
from erp_sync.db.models import BINDINGS

BindingWrite = tuple[str, str, str, str | None]  # (ERP key, local key, row hash, source hash)

# The row hash that lookups report for a tombstoned binding (the CASE in LIVE_ROW_HASH and the writers' stale
# queries): it matches no row, and it is not None.
TOMBSTONED = ""
LIVE_ROW_HASH = "CASE WHEN erp_deleted_at IS NULL THEN row_hash ELSE '' END"
CHUNK = 10_000  # keys per IN-list or array of the operations that go in slices
_COLUMNS = "(integration_id, erp_key, local_key, row_hash, source_hash, synced_at)"
INTO = "INSERT INTO erp_sync_bindings " + _COLUMNS
ON_CONFLICT = " ON CONFLICT (integration_id, erp_key) "
_INSERT = INTO + " VALUES ({marks})" + ON_CONFLICT
REPLACE = (
    "DO UPDATE SET local_key = excluded.local_key, row_hash = excluded.row_hash, source_hash = excluded.source_hash, "
    "synced_at = excluded.synced_at, push_state = NULL, push_error = NULL, erp_deleted_at = NULL"
)
UPSERT = _INSERT + REPLACE
INSERT_ABSENT = _INSERT + "DO NOTHING"
COPY = "COPY erp_sync_bindings " + _COLUMNS + " FROM STDIN"
_SET_SOURCE = "UPDATE erp_sync_bindings SET source_hash = {p} WHERE integration_id = {p} AND erp_key = {p}"


class TargetStatements(Protocol):
    """The SQL of one target table's upserter, built from reflected names quoted by the dialect (`db.target`)."""

    table: str  # the quoted table name
    names: str  # the quoted columns, comma-separated, in the upserter's order
    conflict: str  # ON CONFLICT (keys) DO UPDATE SET ... WHERE the values differ (or DO NOTHING)
    upsert: str  # INSERT of one row ... `conflict`
    stage_table: str  # the quoted name of a session table a page may be staged in, one per table and columns


class TargetRows(Protocol):
    """What a writer needs of a target table's upserter to write a page of its value tuples."""

    columns: list[str]
    types: list[str]  # the mapping type of each column
    copy_threshold: int  # PostgreSQL: pages over this many rows are COPYed

    @property
    def statements(self) -> TargetStatements:
        """The table's SQL."""

    def adapted(self, values: Sequence[tuple[Any, ...]]) -> Sequence[tuple[Any, ...]]:
        """The values as the columns of this dialect store them."""

    def last_per_key(self, values: Sequence[tuple[Any, ...]]) -> Iterable[tuple[Any, ...]]:
        """The adapted values, a repeated key's last row only (one merge or COPY cannot take a key twice)."""


class BulkWriter(ABC):
    """One dialect's bulk operations. Stateless but for caches of what the database says (statistics, COPY
    types), so one instance per dialect serves every engine and run."""

    marker: str  # the DBAPI's parameter marker
    distinct: str  # the operator that tells a NULL from a value (row comparisons included)

    def chunks(self, conn: Connection, items: Sequence[Any], fixed: int) -> Iterator[Sequence[Any]]:
        """Slices of `items` that one statement can take as parameters, beside `fixed` others."""
        size = self.chunk_size(conn, fixed)
        for start in range(0, len(items), size):
            yield items[start:start + size]

    @abstractmethod
    def chunk_size(self, conn: Connection, fixed: int) -> int:
        """How many parameters a statement may take beside `fixed` others, at most CHUNK."""

    @abstractmethod
    def insert_rows(self, conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> int:
        """`rows` through `sql`, an `INSERT ... VALUES (one row) [ON CONFLICT ...]`, in order; rows affected."""

    # --- bindings ---

    @abstractmethod
    def by_erp_key(self, conn: Connection, column: str, integration_id: int,
                   erp_keys: Sequence[str]) -> dict[str, str]:
        """`column` (an expression of the bindings' columns) per ERP key, for the keys that have a binding."""

    @abstractmethod
    def stale_sources(self, conn: Connection, integration_id: int, erp_keys: Sequence[str],
                      source_hashes: Sequence[str]) -> dict[str, str | None]:
        """See `bindings.stale_sources` (not empty)."""

    @abstractmethod
    def upsert_bindings(self, conn: Connection, integration_id: int, rows: Sequence[BindingWrite],
                        synced_at: datetime) -> int:
        """See `bindings.upsert` (not empty)."""

    @abstractmethod
    def insert_new_bindings(self, conn: Connection, integration_id: int, rows: Sequence[BindingWrite],
                            synced_at: datetime) -> int:
        """See `bindings.insert_new`."""

    @abstractmethod
    def insert_absent_bindings(self, conn: Connection, integration_id: int, unique: Sequence[BindingWrite],
                               synced_at: datetime) -> bool:
        """See `bindings.insert_absent` (each key once, not empty)."""

    @abstractmethod
    def delete_bindings(self, conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> int:
        """See `bindings.delete` (not empty)."""

    def set_source_hashes(self, conn: Connection, integration_id: int, rows: Sequence[tuple[str, str]]) -> int:
        """See `bindings.set_source_hashes`."""
        sql = _SET_SOURCE.format(p=self.marker)
        return run_many(conn, sql, [(source_hash, integration_id, erp_key) for erp_key, source_hash in rows])

    @abstractmethod
    def keep_statistics(self, conn: Connection) -> None:
        """See `bindings.keep_statistics`."""

    @abstractmethod
    def refresh_statistics(self, conn: Connection, written: int, *, first_load: bool) -> None:
        """See `bindings.refresh_statistics`."""

    # --- target pages ---

    @abstractmethod
    def upsert_target(self, conn: Connection, target: TargetRows, values: Sequence[tuple[Any, ...]]) -> int:
        """See `Upserter.upsert` (not empty)."""

    @abstractmethod
    def insert_absent_target(self, conn: Connection, target: TargetRows, values: Sequence[tuple[Any, ...]]) -> bool:
        """See `Upserter.insert_absent`."""


def stamp(conn: Connection, synced_at: datetime) -> Any:
    """`synced_at` as the dialect binds it for the driver-level binding writes."""
    stamp_of = BINDINGS.c.synced_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return stamp_of(synced_at) if stamp_of else synced_at


def binding_params(integration_id: int, rows: Sequence[BindingWrite], synced_at: Any) -> list[tuple[Any, ...]]:
    return [(integration_id, erp_key, local_key, row_hash, source, synced_at)
            for erp_key, local_key, row_hash, source in rows]


def last_per_key(rows: Sequence[BindingWrite]) -> list[BindingWrite]:
    """The rows with each ERP key once: a key twice on one page keeps its last row."""
    return list({row[0]: row for row in rows}.values())
