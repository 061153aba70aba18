"""domain.schedule: cron meaning, the DST rule, validation messages, preview and catch-up look-back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from erp_sync.domain import schedule
from erp_sync.errors import ValidationError

ATHENS = "Europe/Athens"
NEW_YORK = "America/New_York"
LORD_HOWE = "Australia/Lord_Howe"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(zone: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone), fold=fold).astimezone(UTC)


def fires_between(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """Fire times in [start, end), by repeated next_fire."""
    times = []
    current = start - timedelta(microseconds=1)
    while (current := schedule.next_fire(cron, zone, current)) < end:
        times.append(current)
    return times


@lru_cache
def transitions(zone: str, year: int) -> list[datetime]:
    """The instants in `year` at which `zone` changes its UTC offset (found on a 15-minute grid)."""
    tz = ZoneInfo(zone)
    found, t = [], utc(year, 1, 1)
    while t.year == year:
        if t.astimezone(tz).utcoffset() != (t - timedelta(minutes=15)).astimezone(tz).utcoffset():
            found.append(t)
        t += timedelta(minutes=15)
    return found


def rule_oracle(cron: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """The DST rule computed the slow way: walk every UTC minute and look at the wall clock."""
    tz, fields = ZoneInfo(zone), cron.split()
    day_or = not (fields[2].startswith("*") or fields[4].startswith("*"))

    def matches(wall: datetime) -> bool:
        return croniter.match(cron, wall, day_or=day_or)

    fires: list[datetime] = []
    seen: set[datetime] = set()
    previous_wall = None
    t = start
    while t < end:
        wall = t.astimezone(tz).replace(tzinfo=None)
        due = wall not in seen and matches(wall)  # a repeated wall time ran on its first pass
        if previous_wall is not None and wall > previous_wall + timedelta(minutes=1):
            skipped = previous_wall + timedelta(minutes=1)
            while skipped < wall and not due:  # slots swallowed by a gap run at its end
                due = matches(skipped)
                skipped += timedelta(minutes=1)
        if due:
            fires.append(t)
        seen.add(wall)
        previous_wall = wall
        t += timedelta(minutes=1)
    return fires


class TestSpringForward:
    def test_athens_daily_0330_runs_at_0400_on_the_missing_hour_then_back_at_0330(self) -> None:
        times = schedule.preview("30 3 * * *", ATHENS, utc(2026, 3, 27, 12), 3)
        assert times == [
            local(ATHENS, 2026, 3, 28, 3, 30),
            local(ATHENS, 2026, 3, 29, 4, 0),  # 03:30 does not exist that night
            local(ATHENS, 2026, 3, 30, 3, 30),
        ]
        assert times[1] == utc(2026, 3, 29, 1, 0)

    def test_new_york_daily_0230_runs_at_0300_edt_on_the_missing_hour(self) -> None:
        times = schedule.preview("30 2 * * *", NEW_YORK, utc(2026, 3, 7, 12), 2)
        assert times == [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30)]
        assert times[0].astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M %Z") == "03:00 EDT"

    def test_athens_hourly_keeps_one_run_per_real_hour_across_the_gap(self) -> None:
        times = fires_between("0 * * * *", ATHENS, utc(2026, 3, 28, 22), utc(2026, 3, 29, 3))
        assert times == [
            utc(2026, 3, 28, 22),
            utc(2026, 3, 28, 23),
            utc(2026, 3, 29, 0),
            utc(2026, 3, 29, 1),
            utc(2026, 3, 29, 2),
        ]

    def test_every_15_minutes_merges_the_swallowed_slots_into_one_run_at_the_end_of_the_gap(self) -> None:
        times = fires_between("*/15 * * * *", NEW_YORK, utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7, 31))
        walls = [t.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M") for t in times]
        assert walls == ["01:30", "01:45", "03:00", "03:15", "03:30"]
        assert len(set(times)) == len(times)

    def test_lord_howe_half_hour_gap_moves_0215_to_0230(self) -> None:
        assert schedule.next_fire("15 2 * * *", LORD_HOWE, utc(2026, 10, 3, 12)) == local(LORD_HOWE, 2026, 10, 4, 2, 30)


class TestFallBack:
    def test_athens_daily_0330_runs_once_at_the_first_occurrence(self) -> None:
        times = schedule.preview("30 3 * * *", ATHENS, utc(2026, 10, 24, 12), 2)
        assert times == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
        assert times[0] == local(ATHENS, 2026, 10, 25, 3, 30, fold=0)

    def test_new_york_daily_0130_runs_once_and_0230_is_unaffected(self) -> None:
        assert schedule.preview("30 1 * * *", NEW_YORK, utc(2026, 10, 31, 12), 2) == [
            utc(2026, 11, 1, 5, 30),
            utc(2026, 11, 2, 6, 30),
        ]
        assert schedule.next_fire("30 2 * * *", NEW_YORK, utc(2026, 10, 31, 12)) == utc(2026, 11, 1, 7, 30)

    def test_hourly_skips_the_second_pass_of_the_repeated_hour(self) -> None:
        times = fires_between("0 * * * *", ATHENS, utc(2026, 10, 24, 23), utc(2026, 10, 25, 4))
        assert times == [utc(2026, 10, 24, 23), utc(2026, 10, 25, 0), utc(2026, 10, 25, 2), utc(2026, 10, 25, 3)]

    def test_every_15_minutes_pauses_for_the_second_pass_and_never_repeats_a_wall_slot(self) -> None:
        times = fires_between("*/15 * * * *", NEW_YORK, utc(2026, 11, 1, 5), utc(2026, 11, 1, 7, 46))
        walls = [t.astimezone(ZoneInfo(NEW_YORK)).strftime("%H:%M%z") for t in times]
        assert walls == [
            "01:00-0400",
            "01:15-0400",
            "01:30-0400",
            "01:45-0400",
            "02:00-0500",
            "02:15-0500",
            "02:30-0500",
            "02:45-0500",
        ]

    def test_asked_from_inside_the_second_pass_the_next_run_is_after_the_repeated_hour(self) -> None:
        inside = local(ATHENS, 2026, 10, 25, 3, 20, fold=1)
        assert schedule.next_fire("*/15 * * * *", ATHENS, inside) == local(ATHENS, 2026, 10, 25, 4, 0)


@pytest.mark.parametrize("zone", [ATHENS, NEW_YORK, LORD_HOWE])
@pytest.mark.parametrize(
    "cron", ["*/15 * * * *", "0 * * * *", "30 * * * *", "30 2 * * *", "45 1 * * *", "*/7 1-3 * * *"]
)
def test_every_transition_of_2026_follows_the_rule_computed_minute_by_minute(cron: str, zone: str) -> None:
    found = transitions(zone, 2026)
    assert len(found) == 2
    for moment in found:
        start, end = moment - timedelta(hours=2), moment + timedelta(hours=2)
        assert fires_between(cron, zone, start, end) == rule_oracle(cron, zone, start, end), moment


class TestCronMeaning:
    def test_day_of_month_and_day_of_week_combine_with_or(self) -> None:
        days = [t.date().isoformat() for t in schedule.preview("0 0 13 * 5", "UTC", utc(2026, 3, 1), 7)]
        assert days == [
            "2026-03-06",
            "2026-03-13",
            "2026-03-20",
            "2026-03-27",
            "2026-04-03",
            "2026-04-10",
            "2026-04-13",
        ]

    def test_a_day_field_starting_with_star_makes_the_days_combine_with_and(self) -> None:
        times = schedule.preview("0 0 */2 * 1", "UTC", utc(2026, 3, 1), 4)
        assert all(t.weekday() == 0 and t.day % 2 == 1 for t in times)

    def test_seven_and_zero_both_mean_sunday(self) -> None:
        after = utc(2026, 3, 1, 12)
        assert schedule.preview("0 9 * * 7", "UTC", after, 3) == schedule.preview("0 9 * * 0", "UTC", after, 3)
        assert schedule.next_fire("0 9 * * 7", "UTC", after).strftime("%A") == "Sunday"

    @pytest.mark.parametrize(
        ("alias", "expression"),
        [
            ("@hourly", "0 * * * *"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@weekly", "0 0 * * 0"),
            ("@monthly", "0 0 1 * *"),
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
        ],
    )
    def test_aliases_mean_their_five_field_form(self, alias: str, expression: str) -> None:
        schedule.validate(alias, ATHENS)
        after = utc(2026, 3, 27)
        assert schedule.preview(alias, ATHENS, after, 4) == schedule.preview(expression, ATHENS, after, 4)

    def test_last_day_of_month_follows_leap_years(self) -> None:
        days = [t.date().isoformat() for t in schedule.preview("0 0 L 2 *", "UTC", utc(2026, 3, 1), 3)]
        assert days == ["2027-02-28", "2028-02-29", "2029-02-28"]

    def test_last_friday_and_second_monday(self) -> None:
        last_fridays = schedule.preview("0 9 * * L5", "UTC", utc(2026, 1, 1), 3)
        assert [t.day for t in last_fridays] == [30, 27, 27]
        second_mondays = schedule.preview("0 9 * * 1#2", "UTC", utc(2026, 1, 1), 3)
        assert [t.date().isoformat() for t in second_mondays] == ["2026-01-12", "2026-02-09", "2026-03-09"]

    def test_an_nth_weekday_ors_with_a_restricted_day_of_month(self) -> None:
        # The 15th or the first Monday, at midnight in Athens, across the March DST change (+02:00 to +03:00).
        times = schedule.preview("0 0 15 * 1#1", ATHENS, utc(2026, 1, 1), 8)
        assert times == [
            local(ATHENS, 2026, 1, 5, 0, 0),
            local(ATHENS, 2026, 1, 15, 0, 0),
            local(ATHENS, 2026, 2, 2, 0, 0),
            local(ATHENS, 2026, 2, 15, 0, 0),
            local(ATHENS, 2026, 3, 2, 0, 0),
            local(ATHENS, 2026, 3, 15, 0, 0),
            local(ATHENS, 2026, 4, 6, 0, 0),
            local(ATHENS, 2026, 4, 15, 0, 0),
        ]
        assert times[0] == utc(2026, 1, 4, 22) and times[6] == utc(2026, 4, 5, 21)

    def test_february_29th_or_the_fifth_sunday_of_february_fires_every_leap_year(self) -> None:
        times = schedule.preview("0 0 29 2 0#5", NEW_YORK, utc(2026, 1, 1), 3)
        assert times == [utc(2028, 2, 29, 5), utc(2032, 2, 29, 5), utc(2036, 2, 29, 5)]

    def test_a_last_weekday_ors_with_a_restricted_day_of_month(self) -> None:
        days = [t.date().isoformat() for t in schedule.preview("0 9 13 * L5", "UTC", utc(2026, 1, 1), 4)]
        assert days == ["2026-01-13", "2026-01-30", "2026-02-13", "2026-02-27"]

    def test_a_day_of_month_that_never_comes_still_fires_on_its_weekdays(self) -> None:
        days = [t.date().isoformat() for t in schedule.preview("0 0 31 2 1#1", "UTC", utc(2026, 1, 1), 2)]
        assert days == ["2026-02-02", "2027-02-01"]

    def test_a_day_field_starting_with_star_still_ands_with_an_nth_weekday(self) -> None:
        days = [t.date().isoformat() for t in schedule.preview("0 0 */2 * 1#1", "UTC", utc(2026, 1, 1), 3)]
        assert days == ["2026-01-05", "2026-06-01", "2026-08-03"]

    def test_month_and_day_names_are_accepted(self) -> None:
        assert schedule.next_fire("0 6 * jan mon", "UTC", utc(2026, 1, 1)) == utc(2026, 1, 5, 6)

    def test_a_time_zone_shifts_the_fire_instant(self) -> None:
        assert schedule.next_fire("0 9 * * *", "Asia/Kolkata", utc(2026, 6, 1)) == utc(2026, 6, 1, 3, 30)


class TestNextFire:
    def test_is_strictly_after_a_slot_instant(self) -> None:
        assert schedule.next_fire("*/15 * * * *", "UTC", utc(2026, 1, 1, 10, 15)) == utc(2026, 1, 1, 10, 30)

    def test_seconds_and_microseconds_are_not_slots(self) -> None:
        after = utc(2026, 1, 1, 10, 14, 59) + timedelta(microseconds=999_999)
        assert schedule.next_fire("*/15 * * * *", "UTC", after) == utc(2026, 1, 1, 10, 15)

    def test_answers_in_utc_whatever_zone_after_is_given_in(self) -> None:
        after = datetime(2026, 1, 1, 12, 0, tzinfo=ZoneInfo(NEW_YORK))
        result = schedule.next_fire("0 * * * *", ATHENS, after)
        assert result == utc(2026, 1, 1, 18, 0)
        assert result.tzinfo is UTC

    def test_refuses_a_naive_after(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware") as info:
            schedule.next_fire("* * * * *", "UTC", datetime(2026, 1, 1))
        assert "after" in str(info.value)


class TestPreview:
    @pytest.mark.parametrize("count", [0, 1, 5, 50])
    def test_gives_count_increasing_times_equal_to_repeated_next_fire(self, count: int) -> None:
        times = schedule.preview("*/20 2-4 * * *", ATHENS, utc(2026, 3, 28, 20), count)
        assert len(times) == count
        assert times == sorted(set(times))
        current = utc(2026, 3, 28, 20)
        for expected in times:
            current = schedule.next_fire("*/20 2-4 * * *", ATHENS, current)
            assert current == expected

    def test_refuses_a_negative_count(self) -> None:
        with pytest.raises(ValueError, match="count"):
            schedule.preview("* * * * *", "UTC", utc(2026, 1, 1), -1)


class TestLastSlotBefore:
    @pytest.mark.parametrize(
        ("cron", "zone", "start"),
        [
            ("*/15 * * * *", ATHENS, utc(2026, 10, 24, 23)),
            ("30 3 * * *", ATHENS, utc(2026, 3, 27)),
            ("0 * * * *", NEW_YORK, utc(2026, 11, 1, 3)),
            ("*/10 * * * *", LORD_HOWE, utc(2026, 4, 4, 14)),
            ("0 9 * * L5", "UTC", utc(2026, 1, 1)),
            ("0 0 15 * 1#1", ATHENS, utc(2026, 1, 1)),
            ("30 2 13 * L5", NEW_YORK, utc(2026, 1, 1)),
        ],
    )
    def test_is_the_fire_time_preview_would_have_given(self, cron: str, zone: str, start: datetime) -> None:
        times = schedule.preview(cron, zone, start, 12)
        for earlier, later in itertools.pairwise(times):
            assert schedule.last_slot_before(cron, zone, later) == later
            assert schedule.last_slot_before(cron, zone, later - timedelta(microseconds=1)) == earlier
            assert schedule.last_slot_before(cron, zone, earlier + (later - earlier) / 2) == earlier

    def test_inside_the_second_pass_it_is_the_first_pass_slot(self) -> None:
        inside = local(ATHENS, 2026, 10, 25, 3, 50, fold=1)
        assert schedule.last_slot_before("30 3 * * *", ATHENS, inside) == local(ATHENS, 2026, 10, 25, 3, 30)

    def test_is_none_beyond_the_look_back(self) -> None:
        at = utc(2026, 6, 1)
        assert schedule.last_slot_before("0 0 1 1 *", "UTC", at) == utc(2026, 1, 1)
        assert schedule.last_slot_before("0 0 1 1 *", "UTC", at, look_back=timedelta(days=30)) is None


class TestValidation:
    @pytest.mark.parametrize(
        ("cron", "reason"),
        [
            ("0 0 31 2 *", "never fires"),
            ("0 0 30 2 *", "never fires"),
            ("0 0 31 4,6,9,11 *", "never fires"),
            ("* * * * * *", "6 fields"),
            ("0 0 0 * * * 2030", "7 fields"),
            ("0 0 * *", "4 fields"),
            ("", "empty"),
            ("   ", "empty"),
            ("@reboot", "alias"),
            ("60 * * * *", "out of range"),
            ("0 24 * * *", "out of range"),
            ("0 0 * * 8", "out of range"),
            ("*/0 * * * *", "step"),
            ("0 0 ? * MON", "characters"),
            ("H * * * *", "'H'"),
            ("R * * * *", "'R'"),
            ("0 0 15W * *", "'W'"),
            ("0 0 * * 5L", "'L5'"),
            ("0 0 * jan-foo *", "'FOO'"),
        ],
    )
    def test_refuses_expressions_with_invalid_cron_and_a_reason(self, cron: str, reason: str) -> None:
        with pytest.raises(ValidationError) as info:
            schedule.validate(cron, "UTC")
        error = info.value
        assert error.code == "INVALID_CRON"
        assert error.field == "schedule.cronExpression"
        assert reason in error.message
        assert "e.g. '*/15 * * * *'" in error.message

    @pytest.mark.parametrize("cron", ["0 0 29 2 *", "*/5 9-17 * * 1-5", "0 0 L * *", "0 0 1,15 * 1", "@daily",
                                      "0 0 15 * 1#1", "0 0 29 2 0#5", "0 0 31 2 1#1", "0 0 30 2 L5"])
    def test_accepts_expressions_that_fire(self, cron: str) -> None:
        schedule.validate(cron, ATHENS)

    @pytest.mark.parametrize(
        ("zone", "hint"),
        [
            ("", None),
            ("Mars/Base", None),
            ("EST", "Abbreviations"),
            ("Japan", "Abbreviations"),
            ("europe/athens", "Did you mean 'Europe/Athens'?"),
        ],
    )
    def test_refuses_unknown_time_zones(self, zone: str, hint: str | None) -> None:
        with pytest.raises(ValidationError) as info:
            schedule.validate("* * * * *", zone)
        error = info.value
        assert error.code == "UNKNOWN_TIMEZONE"
        assert error.field == "schedule.timezone"
        assert "such as 'Europe/Athens'" in error.message
        if hint:
            assert hint in error.message

    @pytest.mark.parametrize("zone", ["UTC", ATHENS, LORD_HOWE, "Asia/Kolkata", "Etc/GMT+3"])
    def test_accepts_iana_area_location_names_and_utc(self, zone: str) -> None:
        schedule.validate("* * * * *", zone)

    def test_next_fire_refuses_what_validate_refuses(self) -> None:
        with pytest.raises(ValidationError) as info:
            schedule.next_fire("0 0 * * *", "Mars/Base", utc(2026, 1, 1))
        assert info.value.code == "UNKNOWN_TIMEZONE"


class TestDescribe:
    def test_describes_in_english_with_a_24_hour_clock(self) -> None:
        assert schedule.describe("30 3 * * 1-5") == "At 03:30, Monday through Friday"
        assert schedule.describe("*/15 * * * *") == "Every 15 minutes"

    @pytest.mark.parametrize(("cron", "description"), [
        ("0 0 15 * 1#1", "At 00:00, on day 15 of the month, or on the first Monday of the month"),
        ("0 0 L * L5", "At 00:00, on the last day of the month, or on the last Friday of the month"),
        ("0 0 29 2 0#5", "At 00:00, on day 29 of the month, or on the fifth Sunday of the month, only in February"),
        ("0 0 */2 * 1#1", "At 00:00, every 2 days, on the first Monday of the month"),
        ("0 9 * * L5", "At 09:00, on the last Friday of the month"),
    ])
    def test_an_nth_or_last_weekday_ored_with_the_day_of_month_is_described_with_or(
            self, cron: str, description: str) -> None:
        assert schedule.describe(cron) == description

    def test_describes_aliases(self) -> None:
        assert schedule.describe("@daily") == "At 00:00"

    def test_falls_back_to_the_raw_expression(self) -> None:
        assert schedule.describe("not a cron") == "not a cron"
