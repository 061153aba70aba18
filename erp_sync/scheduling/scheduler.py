"""The APScheduler 3 adapter: one in-memory job per active integration, reconciled against the database.

The job list is a cache (docs/architecture.md#the-scheduler-and-the-dst-rule): `reconcile` makes it match the
entries the database gives, `apply` does the same for one integration after an API change, and `poll_every`
re-reads the database so a scheduler in another process follows changes too. Every fire calls
`run_slot(integration_id, scheduled_for)` with the slot the trigger scheduled, not the moment the thread got to it,
so the database slot claim (docs/architecture.md#who-decides-which-process-runs) sees the same value in every
process. Jobs coalesce missed fires into one and never overlap themselves within this process.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from erp_sync.clock import Clock, SystemClock
from erp_sync.domain.schedule import ScheduleEntry
from erp_sync.errors import ErpSyncError, ValidationError
from erp_sync.scheduling.executor import SCHEDULED_SLOT, SlotExecutor
from erp_sync.scheduling.trigger import ScheduleTrigger

__all__ = ["JobInfo", "JobScheduler", "ReconcileReport", "RunSlot", "ScheduleEntry"]

logger = logging.getLogger(__name__)

RunSlot = Callable[[int, datetime], None]

_STORE = "default"
_SLOTS = "slots"  # runs run_slot; sized by the caller
_INTERNAL = "internal"  # runs the poll job, so busy syncs never hold up reading the database
_POLL_JOB = "schedules:poll"


@dataclass(frozen=True)
class JobInfo:
    integration_id: int
    cron: str
    timezone: str
    next_run_time: datetime | None  # UTC


@dataclass(frozen=True)
class ReconcileReport:
    """Which integrations' jobs a reconcile added, replaced, removed, or could not schedule."""

    added: tuple[int, ...] = ()
    updated: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()
    invalid: tuple[int, ...] = ()

    @property
    def changed(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


class JobScheduler:
    """A BackgroundScheduler (memory job store, UTC) holding one `integration:<id>` job per active schedule.

    Built by bootstrap, started by the `serve`/`scheduler` entry points; start it once, shut it down once.
    `clock` only answers next-run questions for jobs added before `start`.
    """

    def __init__(
        self,
        run_slot: RunSlot,
        *,
        pool_size: int = 4,
        misfire_grace_seconds: int | None = 300,
        clock: Clock | None = None,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self._run_slot = run_slot
        self._misfire_grace = misfire_grace_seconds
        self._clock = clock or SystemClock()
        self._lock = threading.RLock()  # API threads and the poll job reconcile at the same time
        self._scheduler = BackgroundScheduler(
            jobstores={_STORE: MemoryJobStore()},
            executors={_SLOTS: SlotExecutor(pool_size), _INTERNAL: ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace_seconds},
            timezone=UTC,
            daemon=True,
        )

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        """Start firing jobs in a background thread."""
        if not self.running:
            self._scheduler.start()

    def shutdown(self, wait: bool = True) -> None:
        """Stop firing; with `wait`, let running slots finish first."""
        # Not under self._lock: a poll or a slot still running may need it to finish.
        if not self.running:
            return
        # APScheduler 3 marks itself stopped while its thread may be mid-pass, and that pass then fails to
        # remove or submit a job (agronholm/apscheduler#104, #985). Pause, wait out the pass in flight (it holds
        # the job store lock throughout), then stop.
        self._scheduler.pause()
        with self._scheduler._jobstores_lock:
            pass
        self._scheduler.shutdown(wait=wait)

    def apply(self, entry: ScheduleEntry | None, integration_id: int) -> ReconcileReport:
        """Make one integration's job match `entry` (None or inactive: no job). Raises on an invalid schedule."""
        if entry is not None and entry.integration_id != integration_id:
            raise ValueError(f"entry is for integration {entry.integration_id}, not {integration_id}")
        with self._lock:
            outcome, error = self._sync_one(integration_id, entry, self._current().get(integration_id))
        if error is not None:
            raise error
        return ReconcileReport(**{outcome: (integration_id,)}) if outcome != "unchanged" else ReconcileReport()

    def reconcile(self, entries: Iterable[ScheduleEntry]) -> ReconcileReport:
        """Add missing jobs, replace changed ones, remove those no entry asks for; invalid entries get no job."""
        wanted = {entry.integration_id: entry for entry in entries}
        outcomes: dict[str, list[int]] = {"added": [], "updated": [], "removed": [], "invalid": []}
        with self._lock:
            current = self._current()
            for integration_id in sorted(wanted.keys() | current.keys()):
                entry = wanted.get(integration_id)
                outcome, error = self._sync_one(integration_id, entry, current.get(integration_id))
                if error is not None:
                    logger.warning(
                        "schedule of integration %s not scheduled: %s",
                        integration_id,
                        error,
                        extra={"integration_id": integration_id, "code": error.code},
                    )
                if outcome in outcomes:
                    outcomes[outcome].append(integration_id)
        report = ReconcileReport(**{name: tuple(ids) for name, ids in outcomes.items()})
        if report.changed:
            logger.info(
                "schedules reconciled: added=%s updated=%s removed=%s invalid=%s",
                report.added,
                report.updated,
                report.removed,
                report.invalid,
            )
        return report

    def jobs(self) -> list[JobInfo]:
        """The scheduled integrations, by id."""
        with self._lock:
            current = self._current()
        return [self._info(job) for _, job in sorted(current.items())]

    def next_run_time(self, integration_id: int) -> datetime | None:
        """When the integration's job fires next (UTC), or None if it has no job."""
        with self._lock:
            job = self._current().get(integration_id)
        return self._info(job).next_run_time if job is not None else None

    def run_missed(self, integration_id: int, slot: datetime) -> None:
        """Run one missed slot now, as `run_slot(integration_id, slot)`: the startup catch-up.

        Uses its own job (`integration:<id>:missed`, one at a time) and ignores the misfire grace time, since
        being late is the point. Whether a missed slot deserves a run is the caller's decision.
        """
        if slot.tzinfo is None:
            raise ValueError("slot must be a timezone-aware datetime")
        with self._lock:
            job_id = f"{_job_id(integration_id)}:missed"
            self._remove(job_id)
            self._scheduler.add_job(
                self._run_slot,
                DateTrigger(run_date=slot.astimezone(UTC), timezone=UTC),
                args=(integration_id, SCHEDULED_SLOT),
                id=job_id,
                name=f"integration {integration_id} missed slot",
                executor=_SLOTS,
                jobstore=_STORE,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    def poll_every(self, seconds: float, desired: Callable[[], Iterable[ScheduleEntry]]) -> None:
        """Reconcile from `desired()` (read from the database) every `seconds`, in the background."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")

        def poll() -> None:
            try:
                self.reconcile(list(desired()))
            except ErpSyncError as error:  # a database that is down: one line a poll, the current jobs stay
                logger.warning("schedule poll failed; keeping the current jobs: %s", error)
            except Exception:  # anything else must not stop polling either
                logger.exception("schedule poll failed; keeping the current jobs")

        with self._lock:
            self._remove(_POLL_JOB)
            self._scheduler.add_job(
                poll,
                IntervalTrigger(seconds=seconds, timezone=UTC),
                id=_POLL_JOB,
                name="schedule poll",
                executor=_INTERNAL,
                jobstore=_STORE,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )

    def _sync_one(
        self, integration_id: int, entry: ScheduleEntry | None, job: Job | None
    ) -> tuple[str, ValidationError | None]:
        """Make one job match one entry; say what was done."""
        if entry is None or not entry.active:
            if job is None:
                return "unchanged", None
            self._remove(job.id)
            return "removed", None
        if job is not None and (job.trigger.cron, job.trigger.timezone) == (entry.cron, entry.timezone):
            return "unchanged", None  # keep the job, so its next run time is not recomputed
        try:
            trigger = ScheduleTrigger(entry.cron, entry.timezone)
        except ValidationError as error:
            if job is not None:
                self._remove(job.id)  # the database no longer holds the schedule this job follows
            return "invalid", error
        if job is not None:
            self._remove(job.id)
        self._scheduler.add_job(
            self._run_slot,
            trigger,
            args=(integration_id, SCHEDULED_SLOT),
            id=_job_id(integration_id),
            name=f"integration {integration_id}",
            executor=_SLOTS,
            jobstore=_STORE,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=self._misfire_grace,
        )
        return ("added" if job is None else "updated"), None

    def _current(self) -> dict[int, Job]:
        return {job.args[0]: job for job in self._scheduler.get_jobs() if isinstance(job.trigger, ScheduleTrigger)}

    def _info(self, job: Job) -> JobInfo:
        trigger: ScheduleTrigger = job.trigger
        # A job added before start has no next run time yet; APScheduler computes it at start, as here.
        next_run = trigger.get_next_fire_time(None, self._clock.now()) if job.pending else job.next_run_time
        return JobInfo(job.args[0], trigger.cron, trigger.timezone, next_run.astimezone(UTC) if next_run else None)

    def _remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(job_id)


def _job_id(integration_id: int) -> str:
    return f"integration:{integration_id}"
