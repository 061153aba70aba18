"""The APScheduler trigger for an integration's cron schedule.

`ScheduleTrigger` owns no time math: it asks `domain.schedule.next_fire`, so the preview the API shows is exactly
when the job fires, DST rule included. APScheduler's own `CronTrigger` is never used for integrations (in
APScheduler 3, day-of-week 0 is Monday and the two day fields combine with AND).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

from erp_sync.domain import schedule

_JUST_BEFORE = timedelta(microseconds=1)


class ScheduleTrigger(BaseTrigger):
    """Fires at the slots of one cron expression evaluated in one IANA time zone."""

    __slots__ = ("cron", "timezone")

    def __init__(self, cron: str, timezone: str) -> None:
        schedule.validate(cron, timezone)  # a trigger that could never answer is refused up front
        self.cron = cron
        self.timezone = timezone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        """The slot after the previous fire time; for a new job, the first slot at or after `now`.

        A job added exactly at a slot instant fires that slot rather than losing it (as APScheduler's own
        triggers do); if the slot already ran elsewhere, the database slot claim turns the repeat away.
        """
        after = previous_fire_time if previous_fire_time is not None else now - _JUST_BEFORE
        return schedule.next_fire(self.cron, self.timezone, after)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScheduleTrigger):
            return NotImplemented
        return (self.cron, self.timezone) == (other.cron, other.timezone)

    def __hash__(self) -> int:
        return hash((self.cron, self.timezone))

    def __str__(self) -> str:
        return f"schedule[{self.cron} @ {self.timezone}]"

    def __repr__(self) -> str:
        return f"<ScheduleTrigger (cron={self.cron!r}, timezone={self.timezone!r})>"
