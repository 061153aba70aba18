"""Running the Alembic migrations from code (`erp-sync db upgrade`, tests, the embedded default start)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from erp_sync.db.engine import make_engine
from erp_sync.db.failures import shown_url
from erp_sync.errors import ErpSyncError

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_VERSION_TABLE = "alembic_version"  # Alembic's default; migrations/env.py keeps it


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema to `revision` (default: the newest)."""
    command.upgrade(alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    """The database's schema revision, None before the first migration. Read from Alembic's version table directly:
    a MigrationContext would log two lines of its own set-up at INFO on every command that checks."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(_VERSION_TABLE):
                return None
            versions = conn.execute(sa.text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars().all()  # noqa: S608
    finally:
        engine.dispose()
    return ",".join(sorted(versions)) or None  # several: branches this erp-sync never ships, shown as they are


def head() -> str:
    """The newest schema revision this erp-sync ships."""
    revision = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert revision is not None, f"no migrations in {MIGRATIONS_DIR}"
    return revision


def check_current(database_url: str) -> None:
    """Raise CONFIGURATION_ERROR, saying what to do, unless the database's schema is at `head()`: commands that do
    not migrate would otherwise fail on the first missing table or column."""
    found, wanted = current(database_url), head()
    if found == wanted:
        return
    shown = shown_url(database_url)
    if found is None:
        message = (f"the database {shown} has no erp-sync tables yet: run `erp-sync db upgrade` (`erp-sync serve` "
                   "does it itself on SQLite, and with --migrate on other databases)")
    elif _known(found):
        message = (f"the database {shown} is at schema revision {found}, this erp-sync needs {wanted}: run "
                   "`erp-sync db upgrade` (migrations keep the data; back the database up first as for any upgrade)")
    else:
        message = (f"the database {shown} is at schema revision {found}, which this erp-sync does not know (a "
                   f"newer erp-sync migrated it; this one ends at {wanted}): run that newer version")
    raise ErpSyncError(message, code="CONFIGURATION_ERROR", details={"revision": found, "needed": wanted})


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(revision) is not None
    except CommandError:
        return False
