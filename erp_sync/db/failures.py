"""A database call that failed in the driver, as the DATABASE_ERROR people and scripts read.

The message names the database (its URL with the password hidden) and quotes the driver's first line, never the
SQL or its parameters, and says what to check. `unavailable` tells a database that cannot be reached or refuses
work (connection refused or lost, locked, read-only, disk full: worth retrying once fixed) from a statement the
database rejected.
"""

from __future__ import annotations

from sqlalchemy import exc
from sqlalchemy.engine import make_url

from erp_sync.errors import ErpSyncError

_UNAVAILABLE = (exc.OperationalError, exc.InterfaceError)


def shown_url(database_url: str) -> str:
    """The database URL for messages and logs, its password hidden."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "(the URL in ERP_SYNC_DATABASE_URL)"


def driver_words(error: exc.DBAPIError) -> str:
    """What the driver said, first line only."""
    lines = str(error.orig).strip().splitlines()
    return lines[0].strip() if lines else type(error.orig).__name__


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached or refuses work."""
    return isinstance(error, _UNAVAILABLE)


def database_error(error: BaseException, database_url: str) -> ErpSyncError | None:
    """DATABASE_ERROR for a driver failure (None for any other exception)."""
    if not isinstance(error, exc.DBAPIError):
        return None
    return ErpSyncError(
        f"the database {shown_url(database_url)} failed: {driver_words(error)}. Check that it is running and "
        "reachable and that ERP_SYNC_DATABASE_URL names it (for SQLite: that the file's folder exists and can be "
        "written), then try again", code="DATABASE_ERROR", details={"unavailable": unavailable(error)})
