"""JobScheduler: reconcile against the database's entries, real fires through BackgroundScheduler with slot times."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from erp_sync.clock import FrozenClock
from erp_sync.domain import schedule
from erp_sync.domain.schedule import ScheduleEntry
from erp_sync.errors import ErpSyncError, ValidationError
from erp_sync.scheduling.scheduler import JobInfo, JobScheduler, ReconcileReport

ATHENS = "Europe/Athens"
NOW = datetime(2026, 3, 28, 12, 0, 30, tzinfo=UTC)


class SlotInbox:
    """A run_slot that behaves: it keeps what it was called with, and can hold a run open until released."""

    def __init__(self) -> None:
        self.calls: queue.Queue[tuple[int, datetime, datetime]] = queue.Queue()
        self.gates: dict[int, threading.Event] = {}
        self.started: dict[int, threading.Event] = {}

    def hold(self, integration_id: int) -> threading.Event:
        self.started[integration_id] = threading.Event()
        self.gates[integration_id] = threading.Event()
        return self.gates[integration_id]

    def __call__(self, integration_id: int, scheduled_for: datetime) -> None:
        self.calls.put((integration_id, scheduled_for, datetime.now(UTC)))
        if integration_id in self.gates:
            self.started[integration_id].set()
            self.gates[integration_id].wait(5)

    def next(self) -> tuple[int, datetime, datetime]:
        return self.calls.get(timeout=5)


@pytest.fixture
def inbox() -> SlotInbox:
    return SlotInbox()


@pytest.fixture
def stopped(inbox: SlotInbox) -> JobScheduler:
    return JobScheduler(inbox, clock=FrozenClock(NOW))


@pytest.fixture
def running(inbox: SlotInbox) -> Iterator[JobScheduler]:
    scheduler = JobScheduler(inbox, pool_size=2)
    scheduler.start()
    yield scheduler
    for gate in inbox.gates.values():
        gate.set()
    scheduler.shutdown(wait=True)


def entry(integration_id: int, cron: str = "30 3 * * *", tz: str = ATHENS, active: bool = True) -> ScheduleEntry:
    return ScheduleEntry(integration_id, cron, tz, active)


def answering(answers: list[list[ScheduleEntry] | Exception]) -> Callable[[], list[ScheduleEntry]]:
    """A schedule provider giving `answers` in turn, then the last one for ever (an exception is raised)."""

    def desired() -> list[ScheduleEntry]:
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return desired


def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


class TestReconcile:
    def test_adds_jobs_for_active_entries_with_the_dst_aware_next_run(self, stopped: JobScheduler) -> None:
        report = stopped.reconcile([entry(1), entry(2, "0 * * * *", "UTC"), entry(3, active=False)])
        assert report == ReconcileReport(added=(1, 2))
        assert stopped.jobs() == [
            JobInfo(1, "30 3 * * *", ATHENS, datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),  # 04:00 local, DST
            JobInfo(2, "0 * * * *", "UTC", datetime(2026, 3, 28, 13, 0, tzinfo=UTC)),
        ]

    def test_replaces_changed_removes_gone_and_leaves_the_rest(self, stopped: JobScheduler) -> None:
        stopped.reconcile([entry(1), entry(2), entry(3)])
        report = stopped.reconcile([entry(1), entry(2, tz="America/New_York"), entry(4, "0 12 * * *")])
        assert report == ReconcileReport(added=(4,), updated=(2,), removed=(3,))
        assert [(job.integration_id, job.timezone) for job in stopped.jobs()] == [
            (1, ATHENS),
            (2, "America/New_York"),
            (4, ATHENS),
        ]
        assert stopped.reconcile([entry(1), entry(2, tz="America/New_York"), entry(4, "0 12 * * *")]) == (
            ReconcileReport()
        )

    def test_deactivated_and_deleted_integrations_lose_their_jobs(self, stopped: JobScheduler) -> None:
        stopped.reconcile([entry(1), entry(2)])
        assert stopped.reconcile([entry(1, active=False)]) == ReconcileReport(removed=(1, 2))
        assert stopped.jobs() == []

    def test_an_invalid_schedule_gets_no_job_and_does_not_stop_the_others(self, stopped: JobScheduler) -> None:
        stopped.reconcile([entry(1), entry(2)])
        report = stopped.reconcile([entry(1, "0 0 30 2 *"), entry(2), entry(3, tz="Mars/Base")])
        assert report == ReconcileReport(removed=(), invalid=(1, 3))
        assert [job.integration_id for job in stopped.jobs()] == [2]

    def test_unchanged_jobs_keep_their_next_run_time_on_a_running_scheduler(self, running: JobScheduler) -> None:
        running.reconcile([entry(1, "0 0 1 1 *")])
        before = running.next_run_time(1)
        assert running.reconcile([entry(1, "0 0 1 1 *")]) == ReconcileReport()
        assert running.next_run_time(1) == before
        assert running.reconcile([entry(1, "0 0 1 1 *", "UTC")]) == ReconcileReport(updated=(1,))
        assert running.next_run_time(1) != before


class TestApply:
    def test_adds_replaces_and_removes_one_integration(self, stopped: JobScheduler) -> None:
        assert stopped.apply(entry(7), 7) == ReconcileReport(added=(7,))
        assert stopped.apply(entry(7), 7) == ReconcileReport()
        assert stopped.apply(entry(7, "15 * * * *"), 7) == ReconcileReport(updated=(7,))
        assert stopped.next_run_time(7) == datetime(2026, 3, 28, 12, 15, tzinfo=UTC)
        assert stopped.apply(entry(7, active=False), 7) == ReconcileReport(removed=(7,))
        assert stopped.next_run_time(7) is None
        stopped.apply(entry(7), 7)
        assert stopped.apply(None, 7) == ReconcileReport(removed=(7,))
        assert stopped.jobs() == []

    def test_an_invalid_schedule_raises_and_leaves_no_stale_job(self, stopped: JobScheduler) -> None:
        stopped.apply(entry(7), 7)
        with pytest.raises(ValidationError) as info:
            stopped.apply(entry(7, "61 * * * *"), 7)
        assert info.value.code == "INVALID_CRON"
        assert stopped.next_run_time(7) is None

    def test_refuses_an_entry_for_another_integration(self, stopped: JobScheduler) -> None:
        with pytest.raises(ValueError, match="integration 8"):
            stopped.apply(entry(8), 7)


class TestRunning:
    def test_jobs_added_before_start_are_scheduled_at_start(self, inbox: SlotInbox) -> None:
        scheduler = JobScheduler(inbox)
        scheduler.apply(entry(1, "0 0 1 1 *", "UTC"), 1)
        before = datetime.now(UTC)
        scheduler.start()
        try:
            assert scheduler.running
            assert scheduler.next_run_time(1) == schedule.next_fire("0 0 1 1 *", "UTC", before)
        finally:
            scheduler.shutdown()
        assert not scheduler.running

    def test_a_missed_slot_fires_through_the_scheduler_with_the_slot_time(
        self, running: JobScheduler, inbox: SlotInbox
    ) -> None:
        slot = schedule.last_slot_before("*/5 * * * *", ATHENS, datetime.now(UTC) - timedelta(minutes=10))
        assert slot is not None
        running.run_missed(42, slot)
        integration_id, scheduled_for, called_at = inbox.next()
        assert (integration_id, scheduled_for) == (42, slot)
        assert scheduled_for.tzinfo is UTC
        assert called_at - scheduled_for > timedelta(minutes=10)  # the slot, not the moment it ran
        assert running.jobs() == []  # a catch-up run is not a scheduled job

    def test_one_job_never_runs_twice_at_once(self, running: JobScheduler, inbox: SlotInbox) -> None:
        first, second, third = (datetime(2026, 3, 28, hour, 0, tzinfo=UTC) for hour in (1, 2, 3))
        gate = inbox.hold(7)
        running.run_missed(7, first)
        assert inbox.started[7].wait(5)
        running.run_missed(7, second)  # same job while the first run is still open: skipped
        running.run_missed(8, third)  # another integration, in the free worker
        assert inbox.next()[:2] == (7, first)
        assert inbox.next()[:2] == (8, third)  # due jobs go in slot order, so the second 7 was turned away
        gate.set()
        running.shutdown(wait=True)
        assert inbox.calls.empty()

    def test_polling_follows_the_desired_entries(self, running: JobScheduler) -> None:
        desired = [entry(1)]
        running.poll_every(0.05, lambda: list(desired))
        assert eventually(lambda: [job.integration_id for job in running.jobs()] == [1])
        desired[:] = [entry(2, "0 * * * *", "UTC")]
        assert eventually(lambda: [job.integration_id for job in running.jobs()] == [2])

    def test_polling_survives_a_failing_provider(self, running: JobScheduler) -> None:
        running.poll_every(0.05, answering([RuntimeError("database is down"), [entry(3)]]))
        assert eventually(lambda: [job.integration_id for job in running.jobs()] == [3])

    def test_a_poll_that_meets_a_known_failure_logs_one_line_without_a_traceback(
            self, running: JobScheduler, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.WARNING, logger="erp_sync.scheduling.scheduler")
        down = ErpSyncError("the database postgresql://erp:***@db/erp failed: connection refused",
                            code="DATABASE_ERROR")
        running.poll_every(0.05, answering([down, [entry(4)]]))
        assert eventually(lambda: [job.integration_id for job in running.jobs()] == [4])
        failed = [r for r in caplog.records if "schedule poll failed" in r.getMessage()]
        assert len(failed) == 1 and failed[0].exc_info is None
        assert "DATABASE_ERROR: the database postgresql://erp:***@db/erp failed" in failed[0].getMessage()

    def test_shutdown_of_a_stopped_scheduler_is_harmless(self, stopped: JobScheduler) -> None:
        stopped.shutdown()
        assert not stopped.running
