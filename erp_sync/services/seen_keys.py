"""The ERP keys a complete scan has read, kept so that the bound keys it did not read can be found afterwards.

Up to `IN_MEMORY_KEYS` keys live in a set (~100 bytes a key). Past that they move to a private SQLite file in the
temp folder, so that a run's memory stays flat whatever the table's size: deletes on a multi-million-row table
cost disk (~40 bytes a key) and ~1-2 µs a key, not RAM. The file is the run's alone and goes with `close()`.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path

IN_MEMORY_KEYS = 200_000
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
        folder = Path(tempfile.mkdtemp(prefix="erp-sync-seen-"))
        db = sqlite3.connect(folder / "seen.sqlite3", isolation_level=None, check_same_thread=False)
        self._cleanup = weakref.finalize(self, _remove, db, folder)  # also if the run dies without close()
        db.execute("PRAGMA journal_mode = OFF")  # scratch data: nothing to recover after a crash
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -16384")  # 16 MiB
        db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute("BEGIN")  # one transaction for the run: nothing here needs to survive it
        db.executemany("INSERT INTO seen (key) VALUES (?)", ((key,) for key in sorted(self._keys)))
        self._db, self._keys, self.folder = db, set(), folder


def _remove(db: sqlite3.Connection, folder: Path) -> None:
    db.close()
    shutil.rmtree(folder, ignore_errors=True)
