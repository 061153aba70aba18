"""Migration 0005 adds the runs that ended before it to the run totals, exactly as the fold would have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, MetaData, Table, insert, select, text

from erp_sync.db import totals
from erp_sync.db.engine import make_engine
from erp_sync.db.migrate import upgrade
from erp_sync.db.models import RUNS

T0 = datetime(2026, 12, 1, tzinfo=UTC)
# The runs table as revision 0004 has it: today's model without the columns 0005 adds.
RUNS_0004 = Table("erp_sync_runs", MetaData(),
                  *(Column(c.name, c.type, primary_key=c.primary_key) for c in RUNS.columns
                    if c.name not in {"retry_of", "totals_counted"}))


def test_upgrading_counts_the_history_once_with_the_same_figures_as_a_fold(database_url: str) -> None:
    upgrade(database_url, "0004")
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO erp_sync_integrations (id, name, connector, connection, source, target_table, "
                "create_if_missing, mappings, keys, cron_expression, timezone, is_active, direction, conflict_policy, "
                "delete_policy, options, lease_token, created_at, updated_at) VALUES (1, 'old', 'softone', '{}', "
                "'{}', 'customers', FALSE, '[]', '[]', '0 * * * *', 'UTC', TRUE, 'one_way', 'erp_wins', 'ignore', "
                "'{}', 0, :t, :t)"), {"t": T0})
        runs = [("succeeded", 800, 3), ("succeeded", 7_000, 2), ("failed", 400_000, 0), ("skipped", 0, 0),
                ("abandoned", 90_000, 1), ("running", None, 4)]
        rows = [{"integration_id": 1, "trigger": "schedule", "status": status, "started_at": T0 + timedelta(hours=i),
                 "finished_at": T0 + timedelta(hours=i, seconds=1) if duration is not None else None,
                 "duration_ms": duration, "full": False, "dry_run": False, "pages": 1, "fetched": 9,
                 "inserted": inserted, "updated": 1, "unchanged": 5, "deleted": 0, "pushed": 0, "conflicts": 0,
                 "errors": 0} for i, (status, duration, inserted) in enumerate(runs)]
        with engine.begin() as conn:
            conn.execute(insert(RUNS_0004), rows)
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
