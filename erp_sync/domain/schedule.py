"""Cron schedules: what a cron expression and an IANA time zone mean, as pure time math.

This module owns the one meaning of a schedule (docs/architecture.md#the-scheduler-and-the-dst-rule). The API
preview, the scheduler's trigger and the startup catch-up all ask it, so what an operator sees is exactly when a
job fires.

Expressions are standard five-field cron (minute hour day-of-month month day-of-week) with vixie semantics:
when both day fields are restricted a day matches either (`0 0 13 * 5` runs on the 13th and on Fridays), a day
field starting with `*` (such as `*/2`) counts as unrestricted, `0` and `7` are Sunday, and the aliases
`@hourly @daily @midnight @weekly @monthly @yearly @annually` are accepted. croniter's `L` (`L` in day-of-month,
`L5` = last Friday in day-of-week) and `#` (`1#2` = second Monday) are accepted; seconds and year fields,
Quartz `?`, `W`, and Jenkins `H`/`R` are not.

Day rule:
    A day-of-week with `#` or `L` is a restricted day-of-week like any other, so with a restricted
    day-of-month the two are ORed: `0 0 15 * 1#1` runs on the 15th and on the first Monday of each month.
    croniter ANDs them whenever `#` or `L` is present, so an ORed expression is evaluated here as two
    halves, the days of the month (day-of-week `*`) and the days of the week (day-of-month `*`), and a slot is
    the earlier of the two; a half that never fires (`31 2`) leaves the other.

DST rule:
    A schedule runs on the wall clock of its time zone, and each wall-clock slot runs once: never twice, never
    lost. A slot whose wall time does not exist (the hour skipped when clocks spring forward) runs once at the
    first valid minute after the gap: in Europe/Athens, 03:30 on 2026-03-29 runs at 04:00 local time. A slot
    whose wall time occurs twice (the hour repeated when clocks fall back) runs once, at its first occurrence.
    The rule is the same for every expression, so an hourly or every-15-minutes schedule runs through the first
    pass of a repeated hour and pauses for the second pass, and slots that fall inside a spring-forward gap run
    together as one run at the end of the gap.

Why one rule for all: slot claims are keyed by fire time, preview and scheduler must agree, and a wall-clock
label (03:15 local) never stands for two runs. Incremental syncs re-read from their watermark, so the paused
repeated hour delays data once a year but loses none.

croniter is only asked about naive wall-clock times; mapping wall times to instants is done here, with zoneinfo,
because croniter's own handling of aware datetimes across DST is not something to rely on.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from cron_descriptor import ExpressionDescriptor, Options
from croniter import CroniterBadDateError, CroniterError, croniter

from erp_sync.errors import ValidationError

CRON_FIELD = "schedule.cronExpression"
TIMEZONE_FIELD = "schedule.timezone"

ALIASES: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

_FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
_MONTHS = frozenset(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
_DAYS = frozenset(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])
_WORDS: tuple[frozenset[str], ...] = (frozenset(), frozenset(), frozenset({"l"}), _MONTHS, _DAYS | {"l"})
_FIELD_CHARS = re.compile(r"[0-9A-Za-z*,/#-]+")
_EXAMPLE = "Use five fields (minute hour day-of-month month day-of-week), e.g. '*/15 * * * *' or '30 3 * * 1-5'."
_REFERENCE = datetime(2000, 1, 1)  # validation looks for a fire time after this fixed wall time
_MINUTE = timedelta(minutes=1)
_MAX_STEPS = 100_000  # wall slots skipped in one search; a 24-hour gap of minutely slots is 1,440


@dataclass(frozen=True)
class ScheduleEntry:
    """What the database says one integration's schedule is; the scheduler's job list is built from these."""

    integration_id: int
    cron: str
    timezone: str
    active: bool


@dataclass(frozen=True)
class _Cron:
    expression: str  # five fields, aliases expanded
    halves: tuple[str, ...]  # the expression, or its two day halves when the day fields are ORed (day rule)


def validate(cron: str, timezone: str) -> None:
    """Raise ValidationError (INVALID_CRON / UNKNOWN_TIMEZONE) unless the schedule is usable and fires."""
    parsed = _parse(cron)
    _zone(timezone)
    try:
        next(_walls(parsed, _REFERENCE, backwards=False))
    except CroniterBadDateError:
        raise _cron_error(cron, "it never fires (no date matches it, e.g. February has no 30th)") from None


def next_fire(cron: str, timezone: str, after: datetime) -> datetime:
    """The first fire time strictly after `after` (aware), in UTC, following the module's DST rule."""
    parsed, zone = _parse(cron), _zone(timezone)
    after = _aware_utc(after, "after")
    # Every wall slot at or before the wall time of `after` maps to an instant <= `after`, so start there.
    start = after.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
    walls = _walls(parsed, start, backwards=False)
    try:
        for _ in range(_MAX_STEPS):
            instant = _instant_of(next(walls), zone)
            if instant > after:
                return instant
    except CroniterBadDateError:
        raise _cron_error(cron, "it never fires after the given time") from None
    raise RuntimeError(f"no fire time found for {cron!r} in {timezone} after {after.isoformat()}")


def preview(cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `after`, in UTC: exactly what the scheduler fires."""
    if count < 0:
        raise ValueError("count must be >= 0")
    times: list[datetime] = []
    current = after
    for _ in range(count):
        current = next_fire(cron, timezone, current)
        times.append(current)
    return times


def last_slot_before(
    cron: str, timezone: str, at: datetime, *, look_back: timedelta = timedelta(days=366)
) -> datetime | None:
    """The most recent fire time <= `at` (UTC), or None if there is none within `look_back`."""
    parsed, zone = _parse(cron), _zone(timezone)
    at = _aware_utc(at, "at")
    local = at.astimezone(zone)
    upper = local.replace(tzinfo=None)
    if local.fold:
        # `at` is in the second pass of a repeated hour: later wall slots of that hour already ran earlier.
        upper += at - local.replace(fold=0).astimezone(UTC)  # the length of the repeated span
    walls = _walls(parsed, upper.replace(second=0, microsecond=0) + _MINUTE, backwards=True)
    try:
        for _ in range(_MAX_STEPS):
            instant = _instant_of(next(walls), zone)
            if instant <= at:
                return instant if instant >= at - look_back else None
    except CroniterBadDateError:
        return None
    raise RuntimeError(f"no earlier fire time found for {cron!r} in {timezone} before {at.isoformat()}")


def describe(cron: str) -> str:
    """A human description in English ('At 03:30, only on Monday'); the raw expression if none can be made."""
    try:
        expression = ALIASES.get(cron.strip().lower(), cron.strip())
        options = Options()
        options.use_24hour_time_format = True
        options.locale_code = "en_US"
        descriptor = ExpressionDescriptor(expression, options)
        description = descriptor.get_full_description()
        weekday = descriptor.get_day_of_week_description()  # ', on the first Monday of the month'
        if len(_parse(cron).halves) == 2 and weekday.startswith(", on the ") and weekday in description:
            # cron_descriptor says "or" for a plain weekday only; the day rule ORs these too
            before, _, after = description.rpartition(weekday)
            description = f"{before}, or{weekday[1:]}{after}"
        return description
    except Exception:  # cron_descriptor raises assorted errors on odd input; a description is best effort
        return cron


@lru_cache(maxsize=512)
def _parse(cron: str) -> _Cron:
    if not isinstance(cron, str) or not cron.strip():
        raise _cron_error(cron, "it is empty")
    text = cron.strip()
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            raise _cron_error(cron, f"unknown alias; known aliases are {', '.join(ALIASES)}")
        text = ALIASES[text.lower()]
    fields = text.split()
    if len(fields) != 5:
        extra = " (seconds and year fields are not supported)" if len(fields) in (6, 7) else ""
        raise _cron_error(cron, f"it has {len(fields)} fields, not 5{extra}")
    for name, field, words in zip(_FIELD_NAMES, fields, _WORDS, strict=True):
        _check_field(cron, name, field, words)
    expression = " ".join(fields)
    halves: tuple[str, ...] = (expression,)
    if not (fields[2].startswith("*") or fields[4].startswith("*")):  # vixie: both restricted, so OR them
        halves = (" ".join([*fields[:4], "*"]), " ".join([*fields[:2], "*", *fields[3:]]))
    try:
        for half in (expression, *halves):
            croniter(half, _REFERENCE, day_or=False)
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        raise _cron_error(cron, str(exc).strip() or type(exc).__name__) from None
    return _Cron(expression, halves)


def _check_field(cron: str, name: str, field: str, words: frozenset[str]) -> None:
    if not _FIELD_CHARS.fullmatch(field):
        raise _cron_error(cron, f"the {name} field {field!r} has characters cron does not use")
    if name == "day-of-week" and re.search(r"\dL", field, re.IGNORECASE):
        raise _cron_error(cron, "for the last weekday of the month put L first ('L5' is the last Friday), not '5L'")
    for word in re.findall(r"[a-z]+", field.lower()):
        if word not in words:
            raise _cron_error(cron, f"{word.upper()!r} is not allowed in the {name} field")


@lru_cache(maxsize=128)
def _zone(timezone: str) -> ZoneInfo:
    if isinstance(timezone, str) and timezone in _known_zones():
        return ZoneInfo(timezone)
    hint = ""
    if isinstance(timezone, str):
        match = next((z for z in _known_zones() if z.lower() == timezone.strip().lower()), None)
        if match:
            hint = f" Did you mean {match!r}?"
        elif timezone in available_timezones():
            hint = " Abbreviations and legacy aliases such as 'EST' or 'Japan' are not accepted."
    raise ValidationError(
        f"{timezone!r} is not a known IANA time zone.{hint} "
        "Use an Area/Location name such as 'Europe/Athens' or 'America/New_York', or 'UTC'.",
        code="UNKNOWN_TIMEZONE",
        field=TIMEZONE_FIELD,
        details={"timezone": timezone},
    )


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    # Area/Location names only: 'EST', 'CET', 'Japan' and the like are legacy aliases, some without DST rules.
    return frozenset(z for z in available_timezones() if "/" in z) | {"UTC"}


def _walls(parsed: _Cron, start: datetime, *, backwards: bool) -> Iterator[datetime]:
    """Naive wall-clock slots strictly after (or before) the naive `start`, in order, the halves merged (day
    rule); raises CroniterBadDateError when no slot is left."""
    halves = [_half(expression, start, backwards) for expression in parsed.halves]
    previous = None
    for wall in heapq.merge(*halves, reverse=backwards):
        if wall != previous:  # a day both halves match is one slot
            yield wall
        previous = wall
    raise CroniterBadDateError(f"no slot {'before' if backwards else 'after'} {start.isoformat()}")


def _half(expression: str, start: datetime, backwards: bool) -> Iterator[datetime]:
    """One half's wall slots after (or before) `start`; it ends where croniter finds no more."""
    it = croniter(expression, start, day_or=False)
    step = it.get_prev if backwards else it.get_next
    try:
        while True:
            yield step(datetime)
    except CroniterBadDateError:
        return


def _instant_of(wall: datetime, zone: ZoneInfo) -> datetime:
    """When the wall-clock slot `wall` runs, in UTC: the DST rule."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # fold=0 is the first of a repeated time
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first valid minute after the spring-forward gap that swallows `wall`."""
    # zoneinfo reads a missing time with the offset after the gap (fold=1) or before it (fold=0); the
    # transition lies between the two readings. Find it to the second, then round up to a whole minute.
    lo = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    hi = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    after_offset = datetime.fromtimestamp(hi, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == after_offset:
            hi = mid
        else:
            lo = mid
    end = datetime.fromtimestamp(hi, UTC)
    if end.second or end.microsecond:
        end = end.replace(second=0, microsecond=0) + _MINUTE
    return end


def _aware_utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def _cron_error(cron: object, reason: str) -> ValidationError:
    return ValidationError(
        f"{cron!r} is not a valid cron expression: {reason}. {_EXAMPLE}",
        code="INVALID_CRON",
        field=CRON_FIELD,
        details={"cronExpression": cron},
    )
