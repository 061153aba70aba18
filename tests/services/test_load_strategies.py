"""The load strategy of a page is chosen once, from the run's mode and the page's record ids."""

from __future__ import annotations

import pytest

from erp_sync.connectors.base import Page
from erp_sync.services.load.strategies import Careful, FirstLoad, Resync, choose, complete_record_ids


def _page(record_ids: list[str | None]) -> Page:
    return Page(number=1, start=0, fields=("CODE",), rows=[["A"], ["B"]], record_ids=record_ids)


@pytest.mark.parametrize(("record_ids", "complete"), [
    (["1", "2"], ["1", "2"]),
    (["1", None], None),  # one row without an id: the page cannot be compared by source hash
    (["1", ""], None),
    (["1"], None),  # fewer ids than rows
    ([], None),
])
def test_a_page_has_record_ids_only_when_every_row_has_one(record_ids: list[str | None],
                                                          complete: list[str] | None) -> None:
    assert complete_record_ids(_page(record_ids)) == complete


def test_a_first_load_page_is_written_as_new_unless_the_run_is_dry() -> None:
    assert choose(assume_new=True, dry_run=False, record_ids=["1"]) is FirstLoad
    assert choose(assume_new=True, dry_run=False, record_ids=None) is FirstLoad
    assert choose(assume_new=True, dry_run=True, record_ids=["1"]) is Resync


def test_other_pages_are_compared_by_source_hash_when_every_row_has_an_id_else_mapped_in_full() -> None:
    assert choose(assume_new=False, dry_run=False, record_ids=["1", "2"]) is Resync
    assert choose(assume_new=False, dry_run=False, record_ids=None) is Careful
    assert choose(assume_new=True, dry_run=True, record_ids=None) is Careful
