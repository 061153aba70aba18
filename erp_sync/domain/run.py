"""What a run is and the rules that decide its window, its watermark and when it must stop.

Watermarks are the ERP server's own clock: naive server-local datetimes stored as "YYYY-MM-DD HH:MM:SS"
(docs/softone.md#server-time-and-the-watermark). A run reads from the watermark minus an overlap up to its own
start; the watermark moves only when the run
completes, never past the run's start and never backwards, so a record changed while the run was reading is read
again next time (upserts are idempotent). Everything here is pure: the caller passes `now`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

ERP_SENTINELS = frozenset({"", "1899-12-30", "1899-12-30 00:00:00", "1899-12-30T00:00:00"})


class RunStatus(StrEnum):
    CLAIMED = "claimed"  # the run row exists (slot claimed or run opened); the lease is not taken yet
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    SUCCEEDED_WITH_ERRORS = "succeeded_with_errors"
    FAILED = "failed"
    SKIPPED = "skipped"
    ABANDONED = "abandoned"


class Trigger(StrEnum):
    """Who started a run: the list of api/openapi.yaml's Run.trigger, in its order."""

    SCHEDULE = "schedule"
    API = "api"
    CRON = "cron"
    CLI = "cli"
    STARTUP = "startup"
    RETRY = "retry"  # erp_sync.services.run_hooks: a failed scheduled run, run again


@dataclass
class RunStats:
    """Counters of a run, or of one page to be added to a run's."""

    pages: int = 0
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    pushed: int = 0
    conflicts: int = 0
    errors: int = 0

    def add(self, other: RunStats) -> RunStats:
        """Add `other`'s counts to these; returns self."""
        for name in (f.name for f in fields(self)):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def parse_erp_datetime(text: str | None) -> datetime | None:
    """A naive server-local datetime from "YYYY-MM-DD[ HH:MM:SS]"; "" and the 1899-12-30 sentinel give None.

    Raises ValueError for anything else, including text that carries a zone.
    """
    if text is None or text.strip() in ERP_SENTINELS:
        return None
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is not None:
        raise ValueError(f"ERP datetimes carry no zone, got {text!r}")
    return value


def format_erp_datetime(value: datetime) -> str:
    """"YYYY-MM-DD HH:MM:SS" of a naive server-local datetime (fractions of a second dropped)."""
    if value.tzinfo is not None:
        raise ValueError("ERP datetimes are naive server-local times")
    return value.isoformat(" ", "seconds")


def server_local(now_utc: datetime, server_timezone: str | ZoneInfo) -> datetime:
    """The ERP server's wall clock at `now_utc`, as a naive datetime."""
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be timezone-aware")
    zone = server_timezone if isinstance(server_timezone, ZoneInfo) else ZoneInfo(server_timezone)
    return now_utc.astimezone(zone).replace(tzinfo=None)


def incremental_window(watermark: str | None, run_started_server_local: datetime, overlap: timedelta,
                       full: bool) -> tuple[datetime | None, datetime]:
    """(since, until) for the cursor filter: a full run or a first run reads everything up to the run's start
    (since None); otherwise from the watermark minus `overlap`. A watermark later than the run's start (the ERP
    clock or the configured server zone changed) is treated as the run's start, so the window is never empty."""
    if overlap < timedelta(0):
        raise ValueError("overlap must not be negative")
    until = run_started_server_local.replace(microsecond=0)
    mark = None if full else parse_erp_datetime(watermark)
    if mark is None:
        return None, until
    return min(mark, until) - overlap, until


def advance_watermark(current: str | None, max_seen: datetime | str | None,
                      run_started_server_local: datetime) -> str | None:
    """The watermark after a completed run: the newest cursor value seen, but never past the run's start and never
    behind `current`. A run that saw no cursor value keeps `current`."""
    mark = parse_erp_datetime(current)
    seen = parse_erp_datetime(max_seen) if isinstance(max_seen, str) else max_seen
    if seen is None:
        return format_erp_datetime(mark) if mark else None
    candidate = min(seen, run_started_server_local.replace(microsecond=0))
    if mark is not None and candidate < mark:
        candidate = mark
    return format_erp_datetime(candidate)


def max_cursor(values: Iterable[str | datetime | None]) -> datetime | None:
    """The latest cursor value among ERP strings or datetimes; empty, sentinel and unreadable values are skipped
    (the mapping reports unreadable ones as row problems)."""
    latest = None
    for value in values:
        if isinstance(value, str):
            try:
                value = parse_erp_datetime(value)
            except ValueError:
                continue
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest


_ZERO_DATE = datetime(1899, 12, 30)  # what the sentinels other than "" parse to


def page_cursor(texts: Sequence[str]) -> tuple[datetime | None, frozenset[str]]:
    """The latest of a page's cursor texts and the texts that are no time, read as `max_cursor` reads them (empty
    and sentinel values are neither).

    Fast path, one C-level pass: when every non-empty text parses as a naive ISO datetime as it stands and their
    maximum is not the zero date, that maximum is the rule's answer and no text is unreadable. (A text that parses
    as it stands has no spaces around it, which `fromisoformat` refuses, so it is what the rule reads too; the
    sentinels parse to the zero date, which is not the maximum; "" is filtered out, as the rule skips it.)"""
    try:
        latest = max(map(datetime.fromisoformat, filter(None, texts)), default=None)  # naive with aware: TypeError
        if latest is None or (latest.tzinfo is None and latest != _ZERO_DATE):
            return latest, frozenset()
    except (ValueError, TypeError):
        pass
    return _read_each(set(texts))


def _read_each(texts: Iterable[str]) -> tuple[datetime | None, frozenset[str]]:
    latest, unreadable = None, set()
    for text in texts:
        try:
            value = parse_erp_datetime(text)
        except ValueError:
            unreadable.add(text)
            continue
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest, frozenset(unreadable)


def error_share_exceeded(errors: int, fetched: int, max_share: float, *, allowance: int = 1) -> bool:
    """Whether a run must stop for row errors: more than `max_share` of the rows fetched so far failed.

    Tiny tables: up to `allowance` errors never stop a run (one bad row of three is quarantined, not fatal),
    unless `max_share` is 0, which means no error at all is accepted. `max_share` >= 1 never stops a run.
    """
    if errors <= 0 or max_share >= 1:
        return False
    if max_share <= 0:
        return True
    return errors > max(max_share * max(fetched, errors), allowance)


def delete_share_exceeded(to_delete: int, bound: int, max_share: float, *, allowance: int = 1) -> bool:
    """Whether a full scan's deletions must be refused: more than `max_share` of the bound records would go.

    Tiny tables: deleting up to `allowance` records is always allowed while others remain, but deleting every
    bound record is always refused (an empty scan is far more often a broken filter or ERP than a real wipe),
    unless `max_share` >= 1, which switches the guard off.
    """
    if to_delete <= 0 or max_share >= 1:
        return False
    if to_delete >= bound:
        return True
    return to_delete > max(max_share * bound, allowance)
