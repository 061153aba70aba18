"""The integrations as a list of them shows them (the console's overview): each one's plain columns, its latest
run and its schedule in words, read for any number of integrations in a fixed number of statements and without
loading, decrypting and validating each stored spec."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from erp_sync.db import listing
from erp_sync.domain import schedule

ListedIntegration = listing.ListedIntegration


def integrations(engine: Engine, integration_id: int | None = None) -> list[ListedIntegration]:
    """Every integration (or one), by id, with its latest run of any status."""
    return listing.listed_integrations(engine, integration_id)


@lru_cache(maxsize=1024)
def schedule_text(cron: str) -> str:
    """The schedule in words, as the schedule preview says it; the same expression is described once."""
    return schedule.describe(cron)
