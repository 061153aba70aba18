"""read_ahead hands over items, the end and errors in order, and stops its helper when the caller stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from erp_sync.connectors.read_ahead import read_ahead


def test_items_arrive_in_order_and_at_most_one_ahead() -> None:
    produced: list[int] = []

    def source() -> Iterator[int]:
        for number in range(5):
            produced.append(number)
            yield number

    seen = []
    for item in read_ahead(source()):
        time.sleep(0.02)
        assert len(produced) <= item + 3  # the item in hand, one in the queue, one being produced
        seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_an_error_in_the_source_is_raised_to_the_caller_after_the_items_before_it() -> None:
    def source() -> Iterator[int]:
        yield 1
        raise ValueError("page 2 broke")

    seen = []
    with pytest.raises(ValueError, match="page 2 broke"):
        for item in read_ahead(source()):
            seen.append(item)
    assert seen == [1]


def test_stopping_early_stops_the_helper_thread() -> None:
    def endless() -> Iterator[int]:
        number = 0
        while True:
            number += 1
            yield number

    for item in read_ahead(endless()):
        if item == 3:
            break
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and any(t.name == "erp-sync-read-ahead" for t in threading.enumerate()):
        time.sleep(0.01)
    assert not any(t.name == "erp-sync-read-ahead" for t in threading.enumerate())
