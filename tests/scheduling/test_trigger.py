"""ScheduleTrigger: APScheduler's question, answered by domain.schedule, so the job fires what the preview shows."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from erp_sync.domain import schedule
from erp_sync.errors import ValidationError
from erp_sync.scheduling.trigger import ScheduleTrigger

EXPRESSIONS = [
    "* * * * *",
    "*/15 * * * *",
    "0 * * * *",
    "30 3 * * *",
    "30 2 * * *",
    "45 1 * * 1-5",
    "0 0 13 * 5",
    "0 9 * * L5",
    "*/20 1-4 * * 0",
    "@daily",
]
ZONES = ["Europe/Athens", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
# Offsets from each of the zone's 2026 DST transitions (from 2026-03-29 01:00 UTC for zones without one); some
# land exactly on slots, some inside a repeated hour, some mid-minute.
OFFSETS = [timedelta(hours=-25), timedelta(hours=-1, seconds=-17), timedelta(0), timedelta(minutes=29, seconds=31)]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def transitions_2026(zone: str) -> list[datetime]:
    tz, found, t = ZoneInfo(zone), [], utc(2026, 1, 1)
    while t.year == 2026:
        if t.astimezone(tz).utcoffset() != (t - timedelta(minutes=30)).astimezone(tz).utcoffset():
            found.append(t)
        t += timedelta(minutes=30)
    return found or [utc(2026, 3, 29, 1)]


def combinations() -> list[tuple[str, str, datetime]]:
    return [
        (cron, zone, moment + offset)
        for zone in ZONES
        for moment, offset in itertools.product(transitions_2026(zone), OFFSETS)
        for cron in EXPRESSIONS
    ]


def test_successive_fire_times_equal_the_preview_for_hundreds_of_schedules() -> None:
    cases = combinations()
    assert len(cases) >= 300
    for cron, zone, start in cases:
        trigger = ScheduleTrigger(cron, zone)
        fired = [trigger.get_next_fire_time(None, start)]
        for _ in range(5):
            late_now = fired[-1] + timedelta(seconds=3)  # APScheduler asks a little after the fire
            fired.append(trigger.get_next_fire_time(fired[-1], late_now))
        expected = schedule.preview(cron, zone, start - timedelta(microseconds=1), 6)
        assert fired == expected, (cron, zone, start)
        assert all(t.tzinfo is UTC for t in fired)


def test_a_new_job_fires_at_the_next_slot_after_now() -> None:
    trigger = ScheduleTrigger("*/15 * * * *", "UTC")
    assert trigger.get_next_fire_time(None, utc(2026, 1, 1, 10, 7, 30)) == utc(2026, 1, 1, 10, 15)


def test_a_new_job_added_exactly_at_a_slot_fires_that_slot() -> None:
    trigger = ScheduleTrigger("*/15 * * * *", "UTC")
    assert trigger.get_next_fire_time(None, utc(2026, 1, 1, 10, 15)) == utc(2026, 1, 1, 10, 15)
    assert trigger.get_next_fire_time(None, utc(2026, 1, 1, 10, 15, 0) + timedelta(microseconds=1)) == utc(
        2026, 1, 1, 10, 30
    )


def test_after_a_fire_the_next_slot_follows_the_previous_one_however_late_now_is() -> None:
    # APScheduler walks missed slots this way (then coalesces them), so `now` must not skip any.
    trigger = ScheduleTrigger("0 * * * *", "UTC")
    previous = utc(2026, 1, 1, 8)
    assert trigger.get_next_fire_time(previous, utc(2026, 1, 1, 11, 30)) == utc(2026, 1, 1, 9)


def test_sunday_is_zero_as_in_cron_not_monday_as_in_apscheduler_cron_trigger() -> None:
    trigger = ScheduleTrigger("0 9 * * 0", "Europe/Athens")
    fire = trigger.get_next_fire_time(None, utc(2026, 3, 2))  # a Monday
    assert fire.astimezone(ZoneInfo("Europe/Athens")).strftime("%A %H:%M") == "Sunday 09:00"


def test_the_dst_rule_reaches_the_trigger() -> None:
    trigger = ScheduleTrigger("30 3 * * *", "Europe/Athens")
    assert trigger.get_next_fire_time(None, utc(2026, 3, 28, 12)) == utc(2026, 3, 29, 1, 0)


@pytest.mark.parametrize(
    ("cron", "zone", "code"),
    [
        ("0 0 30 2 *", "UTC", "INVALID_CRON"),
        ("0 0 * * * *", "UTC", "INVALID_CRON"),
        ("* * * * *", "EST", "UNKNOWN_TIMEZONE"),
    ],
)
def test_refuses_a_schedule_that_could_never_answer(cron: str, zone: str, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        ScheduleTrigger(cron, zone)
    assert info.value.code == code


def test_equal_schedules_make_equal_triggers() -> None:
    assert ScheduleTrigger("0 * * * *", "UTC") == ScheduleTrigger("0 * * * *", "UTC")
    assert ScheduleTrigger("0 * * * *", "UTC") != ScheduleTrigger("0 * * * *", "Europe/Athens")
    assert str(ScheduleTrigger("0 * * * *", "UTC")) == "schedule[0 * * * * @ UTC]"


@pytest.mark.parametrize(("cron", "zone", "expected"), [
    ("0 0 15 * 1#1", "Europe/Athens", [utc(2026, 1, 4, 22), utc(2026, 1, 14, 22), utc(2026, 2, 1, 22)]),
    ("0 0 29 2 0#5", "America/New_York", [utc(2028, 2, 29, 5), utc(2032, 2, 29, 5), utc(2036, 2, 29, 5)]),
])
def test_a_restricted_day_of_month_ors_with_an_nth_weekday_in_the_trigger_as_in_the_preview(
        cron: str, zone: str, expected: list[datetime]) -> None:
    trigger = ScheduleTrigger(cron, zone)
    fired = [trigger.get_next_fire_time(None, utc(2026, 1, 1))]
    while len(fired) < len(expected):
        fired.append(trigger.get_next_fire_time(fired[-1], fired[-1] + timedelta(seconds=3)))
    assert fired == expected == schedule.preview(cron, zone, utc(2026, 1, 1), len(expected))
