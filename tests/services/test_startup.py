"""Start-up catch-up: a slot missed while nothing ran runs once within the grace period, else is recorded; a slot
before the integration was active was never missed."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from app_fixtures import customer_integration, make_settings
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync, build
from erp_sync.clock import FrozenClock
from erp_sync.db.migrate import upgrade
from erp_sync.sandbox import RunningSandbox
from erp_sync.services import seen_keys

NOW = datetime(2026, 11, 23, 10, 7, 30, tzinfo=UTC)
YESTERDAY = NOW - timedelta(days=1)


@pytest.fixture
def clocked(database_url: str, tmp_path: Path) -> Iterator[tuple[ErpSync, FrozenClock]]:
    upgrade(database_url)
    clock = FrozenClock(YESTERDAY)  # integrations are made active a day before NOW, unless a test moves the clock
    app = build(make_settings(database_url, tmp_path / "instance"), clock=clock, with_scheduler=False)
    yield app, clock
    app.close()


def runs(app: ErpSync) -> list[tuple[str, datetime | None, str]]:
    with app.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT status, scheduled_for, trigger FROM erp_sync_runs"))]


def test_a_slot_missed_within_the_grace_runs_once_however_often_init_is_called(
        clocked: tuple[ErpSync, FrozenClock], sandbox: RunningSandbox) -> None:
    app, clock = clocked
    spec = customer_integration(sandbox.url, target={"table": "caught_up", "createIfMissing": True},
                                schedule={"cronExpression": "0 * * * *", "timezone": "Europe/Athens"},
                                options={"catchUpGraceMinutes": 30})
    integration = app.integrations.create(spec).id
    clock.set(NOW)
    first = app.startup.init()
    assert [entry["integrationId"] for entry in first.catch_up] == [integration]
    app.dispatch.shutdown(wait=True)
    _wait_for_catch_up(app)
    second = app.startup.init()
    assert second.catch_up == [] and second.missed == []
    assert [(status, trigger) for status, _, trigger in runs(app)] == [("succeeded", "schedule")]


def _wait_for_catch_up(app: ErpSync) -> None:
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(status == "succeeded" for status, _, _ in runs(app)):
            return
        time.sleep(0.05)
    raise AssertionError("the catch-up run did not finish")


def test_a_slot_missed_beyond_the_grace_is_recorded_not_run(clocked: tuple[ErpSync, FrozenClock],
                                                           sandbox: RunningSandbox) -> None:
    app, clock = clocked
    spec = customer_integration(sandbox.url, target={"table": "missed", "createIfMissing": True},
                                schedule={"cronExpression": "0 3 * * *", "timezone": "UTC"},
                                options={"catchUpGraceMinutes": 60})
    app.integrations.create(spec)
    clock.set(NOW)
    report = app.startup.init()
    assert report.catch_up == []
    assert [entry["slot"] for entry in report.missed] == ["2026-11-23T03:00:00Z"]
    [run], _ = app.monitoring.runs(None, 10, 0)
    assert run["status"] == "skipped" and run["scheduled_for"] == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    clock.advance(timedelta(minutes=1))
    assert app.startup.init().missed == []


def test_catch_up_off_records_the_missed_slot_even_within_the_grace(clocked: tuple[ErpSync, FrozenClock],
                                                                    sandbox: RunningSandbox) -> None:
    app, clock = clocked
    spec = customer_integration(sandbox.url, target={"table": "no_catch_up", "createIfMissing": True},
                                schedule={"cronExpression": "*/5 * * * *", "timezone": "UTC"},
                                options={"catchUp": False})
    app.integrations.create(spec)
    clock.set(NOW)
    report = app.startup.init()
    assert report.catch_up == [] and len(report.missed) == 1


def test_init_removes_scratch_folders_that_killed_runs_left(clocked: tuple[ErpSync, FrozenClock], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = clocked
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(seen_keys.tempfile, "tempdir", str(scratch))
    left = scratch / f"{seen_keys.PREFIX}killed"
    left.mkdir()
    (left / "owner.lock").touch()  # its owner is gone: nobody holds the lock
    (left / "seen.sqlite3").write_bytes(b"x" * 1000)
    then = time.time() - 600
    os.utime(left, (then, then))
    app.startup.init()
    assert list(scratch.iterdir()) == []


def test_an_integration_created_after_its_last_slot_is_not_run_at_init_nor_recorded_as_missed(
        clocked: tuple[ErpSync, FrozenClock], sandbox: RunningSandbox) -> None:
    app, clock = clocked
    clock.set(NOW)  # 10:07:30, so the 10:05 slot passed before the integration existed
    spec = customer_integration(sandbox.url, target={"table": "fresh", "createIfMissing": True},
                                schedule={"cronExpression": "*/5 * * * *", "timezone": "UTC"})
    record = app.integrations.create(spec)
    assert record.activated_at == NOW
    report = app.startup.init()
    assert report.catch_up == [] and report.missed == []
    assert runs(app) == []


def test_a_slot_while_the_integration_was_paused_is_not_caught_up_after_it_is_activated_again(
        clocked: tuple[ErpSync, FrozenClock], sandbox: RunningSandbox) -> None:
    app, clock = clocked
    spec = customer_integration(sandbox.url, target={"table": "paused", "createIfMissing": True},
                                schedule={"cronExpression": "0 * * * *", "timezone": "UTC"},
                                options={"catchUpGraceMinutes": 30})
    integration = app.integrations.create(spec).id
    app.integrations.set_active(integration, False)
    clock.set(NOW)  # the 10:00 slot passed while it was paused
    assert app.integrations.set_active(integration, True).activated_at == NOW
    report = app.startup.init()
    assert report.catch_up == [] and report.missed == []
    assert runs(app) == []


def test_activated_at_moves_only_when_an_integration_turns_active(clocked: tuple[ErpSync, FrozenClock]) -> None:
    app, clock = clocked
    table = {"table": "activation", "createIfMissing": True}
    paused = app.integrations.create(customer_integration(name="paused", isActive=False, target=table))
    assert paused.activated_at is None
    active = app.integrations.create(customer_integration(name="active", target=table))
    assert active.activated_at == YESTERDAY
    clock.advance(timedelta(hours=1))
    assert app.integrations.update(active.id, {"source": {"pageSize": 50}}).activated_at == YESTERDAY
    assert app.integrations.update(active.id, {"isActive": True}).activated_at == YESTERDAY  # already active
    assert app.integrations.set_active(active.id, False).activated_at == YESTERDAY  # when it last became active
    clock.advance(timedelta(hours=1))
    assert app.integrations.set_active(paused.id, True).activated_at == YESTERDAY + timedelta(hours=2)
    assert app.integrations.get(paused.id).activated_at == YESTERDAY + timedelta(hours=2)
