"""The executor that hands each job its scheduled slot time.

APScheduler 3 calls a job as `func(*args)` and keeps the run time it was due at to itself. A job registered with
the `SCHEDULED_SLOT` placeholder among its arguments (`args=(integration_id, SCHEDULED_SLOT)`) gets, on the
`SlotExecutor`, the run time it was due at, in UTC, in the placeholder's place. Each due run time goes through
APScheduler's own `run_job`, so the misfire check, events and logging stay APScheduler's.
"""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor as _Pool
from datetime import UTC, datetime
from functools import partial
from typing import Any

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.job import Job

_STORE = "default"  # the only job store the scheduler has; named in the events run_job emits


class _ScheduledSlot:
    def __repr__(self) -> str:
        return "<scheduled slot>"


SCHEDULED_SLOT: Any = _ScheduledSlot()


class SlotExecutor(BaseExecutor):
    """A thread pool executor that puts the scheduled run time in place of `SCHEDULED_SLOT` in a job's args."""

    def __init__(self, max_workers: int) -> None:
        super().__init__()
        self._pool = _Pool(max_workers, thread_name_prefix="erp-sync-slot")

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        future = self._pool.submit(_run_slots, job, run_times, self._logger.name)
        future.add_done_callback(partial(self._finished, job.id))

    def _finished(self, job_id: str, future: Future[list[Any]]) -> None:
        error = future.exception()
        if error is None:
            self._run_job_success(job_id, future.result())
        else:
            self._run_job_error(job_id, error, error.__traceback__)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait)


def _run_slots(job: Job, run_times: list[datetime], logger_name: str) -> list[Any]:
    events: list[Any] = []
    for run_time in run_times:
        events.extend(run_job(_SlotCall(job, run_time), _STORE, [run_time], logger_name))
    return events


class _SlotCall:
    """What run_job needs of a job, for one run time, with that run time in place of the placeholder."""

    __slots__ = ("_job", "args", "func", "id", "kwargs", "misfire_grace_time")

    def __init__(self, job: Job, run_time: datetime) -> None:
        self._job = job
        self.id = job.id
        self.func = job.func
        slot = run_time.astimezone(UTC)
        self.args = tuple(slot if arg is SCHEDULED_SLOT else arg for arg in job.args)
        self.kwargs = job.kwargs
        self.misfire_grace_time = job.misfire_grace_time

    def __str__(self) -> str:
        return str(self._job)
