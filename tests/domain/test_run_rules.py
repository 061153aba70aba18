"""domain.run: statuses, counters, the incremental window, the watermark and the stop rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from erp_sync.domain import run as rules
from erp_sync.domain.run import RunStats, RunStatus, Trigger

START = datetime(2024, 7, 1, 12, 0, 30, 123456)  # the run's start on the ERP server's clock
OVERLAP = timedelta(minutes=10)


def test_statuses_are_their_stored_strings() -> None:
    assert [s.value for s in RunStatus] == ["claimed", "running", "succeeded", "succeeded_with_errors", "failed",
                                            "skipped", "abandoned"]
    assert RunStatus("failed") == "failed"


def test_the_triggers_are_the_specs_list_of_run_triggers() -> None:
    spec = yaml.safe_load((Path(__file__).resolve().parents[2] / "api" / "openapi.yaml").read_text("utf-8"))
    assert [t.value for t in Trigger] == spec["components"]["schemas"]["Run"]["properties"]["trigger"]["enum"]


def test_run_stats_add_page_counts() -> None:
    total = RunStats(pages=1, fetched=10, inserted=7, unchanged=3)
    assert total.add(RunStats(pages=1, fetched=5, updated=2, errors=1, conflicts=1)) is total
    assert total.as_dict() == {"pages": 2, "fetched": 15, "inserted": 7, "updated": 2, "unchanged": 3, "deleted": 0,
                               "pushed": 0, "conflicts": 1, "errors": 1}


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-07-01 12:00:00", datetime(2024, 7, 1, 12, 0)),
    ("2024-07-01", datetime(2024, 7, 1)),
    ("", None),
    (None, None),
    ("1899-12-30 00:00:00", None),
    ("1899-12-30", None),
])
def test_erp_datetimes_parse_with_the_sentinel_as_none(text: str | None, expected: datetime | None) -> None:
    assert rules.parse_erp_datetime(text) == expected


def test_erp_datetimes_refuse_garbage_and_zones() -> None:
    with pytest.raises(ValueError):
        rules.parse_erp_datetime("yesterday")
    with pytest.raises(ValueError):
        rules.parse_erp_datetime("2024-07-01 12:00:00+03:00")
    with pytest.raises(ValueError):
        rules.format_erp_datetime(datetime(2024, 7, 1, tzinfo=UTC))


def test_erp_datetimes_format_to_whole_seconds() -> None:
    assert rules.format_erp_datetime(START) == "2024-07-01 12:00:30"


def test_server_local_is_the_erp_wall_clock() -> None:
    assert rules.server_local(datetime(2024, 7, 1, 9, 0, tzinfo=UTC), "Europe/Athens") == datetime(2024, 7, 1, 12, 0)
    assert rules.server_local(datetime(2024, 1, 1, 9, 0, tzinfo=UTC), "Europe/Athens") == datetime(2024, 1, 1, 11, 0)
    with pytest.raises(ValueError):
        rules.server_local(datetime(2024, 1, 1), "Europe/Athens")


def test_a_full_or_first_run_reads_everything_up_to_its_start() -> None:
    until = datetime(2024, 7, 1, 12, 0, 30)
    assert rules.incremental_window(None, START, OVERLAP, full=False) == (None, until)
    assert rules.incremental_window("2024-06-30 08:00:00", START, OVERLAP, full=True) == (None, until)


def test_an_incremental_window_rereads_the_overlap_before_the_watermark() -> None:
    since, until = rules.incremental_window("2024-07-01 11:00:00", START, OVERLAP, full=False)
    assert (since, until) == (datetime(2024, 7, 1, 10, 50), datetime(2024, 7, 1, 12, 0, 30))


def test_a_watermark_ahead_of_the_run_start_is_clamped_so_the_window_is_not_empty() -> None:
    since, until = rules.incremental_window("2024-07-02 00:00:00", START, OVERLAP, full=False)
    assert since == until - OVERLAP


def test_the_watermark_never_passes_the_run_start() -> None:
    assert rules.advance_watermark("2024-07-01 11:00:00", "2024-07-01 13:00:00", START) == "2024-07-01 12:00:30"


def test_the_watermark_never_moves_backwards() -> None:
    assert rules.advance_watermark("2024-07-01 11:00:00", datetime(2024, 7, 1, 10, 0), START) == \
        "2024-07-01 11:00:00"


def test_the_watermark_moves_to_the_newest_value_seen() -> None:
    assert rules.advance_watermark("2024-07-01 11:00:00", "2024-07-01 11:45:10", START) == "2024-07-01 11:45:10"
    assert rules.advance_watermark(None, datetime(2024, 7, 1, 9, 0), START) == "2024-07-01 09:00:00"


def test_a_run_that_saw_no_cursor_value_keeps_the_watermark() -> None:
    assert rules.advance_watermark("2024-07-01 11:00:00", None, START) == "2024-07-01 11:00:00"
    assert rules.advance_watermark(None, None, START) is None


def test_max_cursor_skips_empty_sentinel_and_unreadable_values() -> None:
    values = ["2024-07-01 10:00:00", "", "1899-12-30 00:00:00", "garbage", None, "2024-07-01 11:30:00",
              datetime(2024, 7, 1, 11, 0)]
    assert rules.max_cursor(values) == datetime(2024, 7, 1, 11, 30)
    assert rules.max_cursor(["", None]) is None


@pytest.mark.parametrize(("errors", "fetched", "share", "exceeded"), [
    (0, 1000, 0.05, False),
    (50, 1000, 0.05, False),
    (51, 1000, 0.05, True),
    (1, 3, 0.05, False),       # tiny table: one bad row is quarantined, not fatal
    (2, 3, 0.05, True),
    (1, 1000, 0.0, True),      # zero tolerance
    (1000, 1000, 1.0, False),  # guard off
    (5, 0, 0.5, True),
])
def test_error_share(errors: int, fetched: int, share: float, exceeded: bool) -> None:
    assert rules.error_share_exceeded(errors, fetched, share) is exceeded


@pytest.mark.parametrize(("to_delete", "bound", "share", "exceeded"), [
    (0, 0, 0.2, False),
    (0, 100, 0.2, False),
    (20, 100, 0.2, False),
    (21, 100, 0.2, True),
    (1, 3, 0.2, False),        # tiny table: one record may go
    (2, 3, 0.2, True),
    (1, 1, 0.2, True),         # an empty scan never wipes a table
    (100, 100, 0.99, True),
    (100, 100, 1.0, False),    # guard off
])
def test_delete_share(to_delete: int, bound: int, share: float, exceeded: bool) -> None:
    assert rules.delete_share_exceeded(to_delete, bound, share) is exceeded
