"""Record versions stored with the bindings (`erp_sync_bindings.erp_version`): the version some ERPs hand out
with every record and demand back on update (Dynamics NAV's `Key`). Null for ERPs without one (SoftOne)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import Connection

from erp_sync.db.models import BINDINGS

_STORE_QMARK = ("UPDATE erp_sync_bindings SET erp_version = ? WHERE integration_id = ? AND erp_key = ? "
                "AND (erp_version IS NULL OR erp_version <> ?)")
_STORE_FORMAT = _STORE_QMARK.replace("?", "%s")


def store(conn: Connection, integration_id: int, versions: Sequence[tuple[str, str]]) -> None:
    """Set (erp_key, version) pairs on existing bindings; a binding that already has that version is not
    written again, and a key without a binding is passed over. One driver-level executemany: a page of a
    thousand versions would spend most of its time building SQLAlchemy parameters otherwise."""
    if not versions:
        return
    sql = _STORE_QMARK if conn.dialect.paramstyle == "qmark" else _STORE_FORMAT
    conn.exec_driver_sql(sql, [(version, integration_id, key, version) for key, version in dict(versions).items()])


def versions_for(conn: Connection, integration_id: int, erp_keys: Sequence[str]) -> dict[str, str]:
    """The stored version of each of these ERP keys that has one."""
    table = BINDINGS
    rows = conn.execute(sa.select(table.c.erp_key, table.c.erp_version)
                        .where(table.c.integration_id == integration_id, table.c.erp_key.in_(list(erp_keys)),
                               table.c.erp_version.is_not(None)))
    return {key: version for key, version in rows}
