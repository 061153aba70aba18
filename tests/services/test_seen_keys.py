"""SeenKeys: the same answers in memory and spilled to disk, and no file left behind."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from erp_sync.services import seen_keys
from erp_sync.services.seen_keys import SeenKeys


@pytest.mark.parametrize("in_memory", [1000, 10])
def test_missing_names_exactly_the_keys_not_seen_in_their_order(in_memory: int) -> None:
    seen = SeenKeys(in_memory)
    seen.update(f"CUSTOMER;{k}" for k in range(0, 60, 2))  # the even keys
    seen.update(["CUSTOMER;4", "CUSTOMER;6", "Πελάτης;Α"])  # repeats, and non-ASCII text
    asked = [f"CUSTOMER;{k}" for k in (59, 0, 7, 58, 1200)] + ["Πελάτης;Α", "Πελάτης;Β"] * 300  # > one query
    assert seen.missing(asked) == ["CUSTOMER;59", "CUSTOMER;7", "CUSTOMER;1200", *["Πελάτης;Β"] * 300]
    assert (seen.folder is not None) == (in_memory == 10)
    seen.close()


def test_spilled_keys_live_in_a_file_of_their_own_that_close_removes(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_keys.tempfile, "tempdir", str(tmp_path))
    seen = SeenKeys(in_memory=5)
    seen.update(str(k) for k in range(5))
    assert seen.folder is None and list(tmp_path.iterdir()) == []
    seen.update(["5", "6"])
    folder = seen.folder
    assert folder is not None and folder.parent == tmp_path and (folder / "seen.sqlite3").is_file()
    seen.update(str(k) for k in range(7, 20))
    assert seen.missing([str(k) for k in range(25)]) == ["20", "21", "22", "23", "24"]
    seen.close()
    assert not folder.exists() and seen.folder is None
    assert seen.missing(["1"]) == ["1"]  # closed: it has forgotten everything


def test_a_run_that_dies_without_closing_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_keys.tempfile, "tempdir", str(tmp_path))
    seen = SeenKeys(in_memory=1)
    seen.update(["a", "b", "c"])
    folder = seen.folder
    assert folder is not None and folder.exists()
    del seen
    gc.collect()
    assert not folder.exists()
