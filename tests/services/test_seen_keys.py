"""SeenKeys: the same answers in memory and spilled to disk, and no file left behind."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import time
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


def _age(folder: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(folder, (then, then))


def test_sweep_removes_the_folder_of_a_killed_run_and_keeps_live_ones(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # A real process spills its keys and is killed with SIGKILL: nothing of it runs to clean up.
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, tempfile, time\n"
         f"tempfile.tempdir = {str(tmp_path)!r}\n"
         "from erp_sync.services.seen_keys import SeenKeys\n"
         "seen = SeenKeys(in_memory=1)\n"
         "seen.update(['a', 'b', 'c'])\n"
         "print(seen.folder, flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    killed = Path(child.stdout.readline().strip())
    child.kill()
    child.wait(timeout=10)
    assert killed.is_dir() and killed.parent == tmp_path

    monkeypatch.setattr(seen_keys.tempfile, "tempdir", str(tmp_path))
    live = SeenKeys(in_memory=1)
    live.update(["x", "y"])
    assert live.folder is not None
    assert seen_keys.sweep_orphans(str(tmp_path)) == []  # both too young: an owner may still be setting up
    for folder in (killed, live.folder):
        _age(folder, 120)
    assert seen_keys.sweep_orphans(str(tmp_path)) == [killed]
    assert not killed.exists() and live.folder.is_dir()
    assert live.missing(["x", "z"]) == ["z"]  # the live run's keys are untouched
    live.close()


def test_sweep_removes_a_lockless_folder_only_when_it_is_old(tmp_path: Path) -> None:
    young, old = tmp_path / f"{seen_keys.PREFIX}young", tmp_path / f"{seen_keys.PREFIX}old"
    other = tmp_path / "someone-elses-folder"
    for folder in (young, old, other):
        folder.mkdir()
    _age(young, 600)
    _age(old, 2 * 3600)
    _age(other, 2 * 3600)
    assert seen_keys.sweep_orphans(str(tmp_path)) == [old]
    assert young.is_dir() and other.is_dir()


def test_spilling_sweeps_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_keys.tempfile, "tempdir", str(tmp_path))
    left = tmp_path / f"{seen_keys.PREFIX}left-behind"
    left.mkdir()
    (left / "owner.lock").touch()  # nobody holds its lock
    _age(left, 120)
    seen = SeenKeys(in_memory=1)
    seen.update(["a", "b"])
    assert not left.exists() and seen.folder is not None
    seen.close()


def test_keys_stay_in_memory_when_the_temp_folder_cannot_be_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "no-such-folder"
    monkeypatch.setattr(seen_keys.tempfile, "tempdir", str(missing))
    seen = SeenKeys(in_memory=2)
    with caplog.at_level(logging.WARNING, logger=seen_keys.__name__):
        seen.update(["a", "b", "c"])
        seen.update(str(k) for k in range(100))
    assert seen.folder is None and not missing.exists()
    assert seen.missing(["a", "c", "99", "100", "zz"]) == ["100", "zz"]
    [record] = caplog.records
    assert "stay in memory" in record.getMessage() and str(missing) in record.getMessage()
    assert "TMPDIR" in record.getMessage()
    seen.close()
