"""What the CLI does to a process once it has built the app: long-lived objects leave the cyclic collector's walk."""

from __future__ import annotations

import gc

from erp_sync.bootstrap import GC_THRESHOLDS, settle_long_lived_objects


def test_settling_freezes_what_exists_and_collects_young_objects_less_often() -> None:
    before = gc.get_threshold()
    kept = [[index] for index in range(1000)]  # container objects alive when the process settles
    try:
        settle_long_lived_objects()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() >= len(kept)
        walked = {id(obj) for obj in gc.get_objects()}  # what a full collection would traverse
        assert id(kept) not in walked and id(kept[0]) not in walked
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert gc.get_freeze_count() == 0
