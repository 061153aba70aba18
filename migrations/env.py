"""Alembic environment: the URL comes from erp-sync's settings (or the caller's config), the metadata from
erp_sync.db.models. Only `erp_sync_*` tables are ours; the application's own tables in the same database are
never touched by autogenerate."""

from __future__ import annotations

from alembic import context

from erp_sync.db.engine import make_engine
from erp_sync.db.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from erp_sync.settings import load_settings

    return load_settings().database_url


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "table":
        return bool(name and name.startswith("erp_sync_"))
    return True


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      include_name=include_name, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: object) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, include_name=include_name,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
