"""Migration 0005 adds the runs that ended before it to the run totals, exactly as the fold would have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, MetaData, Table, insert, select

from erp_sync.db import totals
from erp_sync.db.engine import make_engine
from erp_sync.db.migrate import upgrade
from erp_sync.db.models import INTEGRATIONS, RUNS

T0 = datetime(2026, 12, 1, tzinfo=UTC)
ADDED_BY_0005 = {"retry_of", "totals_counted", "paused_reason", "notifications_encrypted"}


def at_0004(table: Table) -> Table:
    """The table as revision 0004 has it: today's model without the columns 0005 adds."""
    return Table(table.name, MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key) for c in table.columns
                                           if c.name not in ADDED_BY_0005))


def test_upgrading_counts_the_history_once_with_the_same_figures_as_a_fold(database_url: str) -> None:
    upgrade(database_url, "0004")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(at_0004(INTEGRATIONS)).values(
                id=1, name="old", connector="softone", connection={}, source={}, target_table="customers",
                create_if_missing=False, mappings=[], keys=[], cron_expression="0 * * * *", timezone="UTC",
                is_active=True, direction="one_way", conflict_policy="erp_wins", delete_policy="ignore", options={},
                lease_token=0, created_at=T0, updated_at=T0))
        runs = [("succeeded", 800, 3), ("succeeded", 7_000, 2), ("failed", 400_000, 0), ("skipped", 0, 0),
                ("abandoned", 90_000, 1), ("running", None, 4)]
        rows = [{"integration_id": 1, "trigger": "schedule", "status": status, "started_at": T0 + timedelta(hours=i),
                 "finished_at": T0 + timedelta(hours=i, seconds=1) if duration is not None else None,
                 "duration_ms": duration, "full": False, "dry_run": False, "pages": 1, "fetched": 9,
                 "inserted": inserted, "updated": 1, "unchanged": 5, "deleted": 0, "pushed": 0, "conflicts": 0,
                 "errors": 0} for i, (status, duration, inserted) in enumerate(runs)]
        with engine.begin() as conn:
            conn.execute(insert(at_0004(RUNS)), rows)
        upgrade(database_url)
        migrated = {(t.status, t.runs, t.rows["inserted"], t.duration_ms) for t in totals.totals(engine)}
        assert migrated == {("succeeded", 2, 5, 7_800), ("failed", 1, 0, 400_000), ("skipped", 1, 0, 0),
                            ("abandoned", 1, 1, 90_000)}
        assert totals.durations(engine) == {1: {"1.0": 1, "15.0": 1, "600.0": 1, "120.0": 1}}
        assert totals.fold(engine) == 0  # nothing is counted twice; the running run is not counted yet
        with engine.connect() as conn:
            uncounted = conn.execute(select(RUNS.c.status).where(RUNS.c.totals_counted.is_(False))).scalars().all()
        assert uncounted == ["running"]
    finally:
        engine.dispose()
