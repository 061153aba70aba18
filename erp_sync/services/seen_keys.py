"""The ERP keys a complete scan has read, kept so that the bound keys it did not read can be found afterwards.

Up to `IN_MEMORY_KEYS` keys live in a set. Past that they move to a private SQLite file in the temp folder, so
that a run's memory stays flat whatever the table's size: deletes on a multi-million-row table cost disk and a
little time per key, not RAM (docs/performance.md#seen-keys). The file is the run's alone and goes with `close()`.

The owning process holds an exclusive `flock` on a lock file in the folder for as long as the folder is in use;
the kernel drops it when the process dies, even by SIGKILL, so `sweep_orphans` can tell a folder left by a killed
run from one in use. If the temp folder cannot be written, the keys stay in memory and a warning says so.
"""

from __future__ import annotations

import fcntl
import logging
import shutil
import sqlite3
import sys
import tempfile
import time
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

IN_MEMORY_KEYS = 200_000
PREFIX = "erp-sync-seen-"
_LOCK_FILE = "owner.lock"
_FRESH_S = 60  # a folder this young may still be being set up by its owner
_UNLOCKED_GRACE_S = 3600  # a folder without a lock file: left by a crash between mkdtemp and locking
_BATCH = 500  # keys per membership query (under SQLite's bound-variable limit)


class SeenKeys:
    """A set of ERP keys that spills to disk; `missing` answers for a batch of keys at a time."""

    def __init__(self, in_memory: int | None = None) -> None:
        self._limit = IN_MEMORY_KEYS if in_memory is None else in_memory
        self._keys: set[str] = set()
        self._db: sqlite3.Connection | None = None
        self._cleanup: weakref.finalize | None = None
        self.folder: Path | None = None  # where the keys are once spilled to disk

    def update(self, keys: Iterable[str]) -> None:
        if self._db is not None:
            self._db.executemany("INSERT OR IGNORE INTO seen (key) VALUES (?)", ((key,) for key in keys))
            return
        self._keys.update(keys)
        if len(self._keys) > self._limit:
            self._spill()

    def missing(self, keys: Sequence[str]) -> list[str]:
        """The keys of `keys` that were not seen, in their order."""
        if self._db is None:
            return [key for key in keys if key not in self._keys]
        found: set[str] = set()
        for start in range(0, len(keys), _BATCH):
            chunk = keys[start:start + _BATCH]
            query = f"SELECT key FROM seen WHERE key IN ({', '.join('?' * len(chunk))})"  # noqa: S608 - marks only
            found.update(key for (key,) in self._db.execute(query, chunk))
        return [key for key in keys if key not in found]

    def close(self) -> None:
        """Forget the keys and remove the file, if any."""
        self._keys = set()
        if self._cleanup is not None:
            self._cleanup()
        self._db, self._cleanup, self.folder = None, None, None

    def _spill(self) -> None:
        sweep_orphans()
        try:
            folder, lock, db = _scratch_database()
        except (OSError, sqlite3.Error) as exc:
            log.warning("%d seen ERP keys stay in memory: no scratch file could be made in %s (%s); point TMPDIR "
                        "at a writable folder to keep memory flat on big tables", len(self._keys),
                        tempfile.gettempdir(), exc)
            self._limit = sys.maxsize
            return
        self._cleanup = weakref.finalize(self, _remove, db, lock, folder)  # also if the run dies without close()
        db.executemany("INSERT INTO seen (key) VALUES (?)", ((key,) for key in sorted(self._keys)))
        self._db, self._keys, self.folder = db, set(), folder


def _scratch_database() -> tuple[Path, IO[bytes], sqlite3.Connection]:
    folder = Path(tempfile.mkdtemp(prefix=PREFIX))
    lock: IO[bytes] | None = None
    try:
        lock = open(folder / _LOCK_FILE, "wb")  # noqa: SIM115 - held open until _remove
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        db = sqlite3.connect(folder / "seen.sqlite3", isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode = OFF")  # scratch data: nothing to recover after a crash
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -16384")  # 16 MiB
        db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute("BEGIN")  # one transaction for the run: nothing here needs to survive it
    except BaseException:
        if lock is not None:
            lock.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, lock, db


def _remove(db: sqlite3.Connection, lock: IO[bytes], folder: Path) -> None:
    db.close()
    shutil.rmtree(folder, ignore_errors=True)
    lock.close()


def sweep_orphans(temp_dir: str | None = None) -> list[Path]:
    """Remove the scratch folders of runs whose process died without removing them (SIGKILL, power loss);
    folders whose owner is alive, here or in another process, are left alone. Returns the removed folders."""
    removed = []
    for folder in Path(temp_dir or tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            if folder.is_dir() and _orphaned(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        except OSError:
            continue  # not ours to read, or gone meanwhile
    return removed


def _orphaned(folder: Path) -> bool:
    age = time.time() - folder.stat().st_mtime
    if age < _FRESH_S:
        return False
    try:
        lock = open(folder / _LOCK_FILE, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return age > _UNLOCKED_GRACE_S
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
