"""SandboxState: everything one sandbox knows (rows, sessions, reqIDs, faults, counters, setData log) and the
operations tests use to inspect and steer it, shared by the admin HTTP surface and in-process callers.

One re-entrant lock guards it (locked_state.py, with the steering both sandboxes share); the app holds it while a
service runs, and every public method here takes it.
`reset` brings back the seeded rows, the initial config and zero counters, and drops reqIDs and faults; sessions
survive unless asked (`reset(sessions=True)`), so a logged-in client keeps working across a test's reset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar

from . import config as config_module
from .browser import BrowserTable
from .config import SandboxConfig
from .data import generators
from .faults import FaultBoard
from .locked_state import LockedState
from .schema import lookup_object
from .sessions import SessionTable
from .store import ObjectStore


@dataclass
class Stats:
    """Counters since start or the last reset."""

    logins: int = 0
    authenticates: int = 0
    requests: int = 0
    errors: int = 0
    rows_served: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    errors_by_code: dict[str, int] = field(default_factory=dict)

    def count_call(self, service: str) -> None:
        self.requests += 1
        self.calls[service] = self.calls.get(service, 0) + 1

    def count_error(self, errorcode: int) -> None:
        self.errors += 1
        self.errors_by_code[str(errorcode)] = self.errors_by_code.get(str(errorcode), 0) + 1


class SandboxState(LockedState[SandboxConfig, int]):
    """The mutable world behind one sandbox app."""

    config_rules: ClassVar[ModuleType] = config_module

    def __init__(self, config: SandboxConfig) -> None:
        super().__init__(config)
        self.sessions = SessionTable()

    def _build(self, config: SandboxConfig) -> None:
        self.config = config
        gens = generators(config.seed, config.customers, config.items, config.company)
        self.stores: dict[str, ObjectStore] = {name: ObjectStore(g) for name, g in gens.items()}
        self.browsers = BrowserTable()
        self.faults = FaultBoard()
        self.stats = Stats()
        self.setdata_log: list[dict[str, Any]] = []
        self.responses = 0

    # -- inspection ------------------------------------------------------------------------------------------
    def _live_counts(self) -> dict[str, int]:
        """Live sessions and live reqIDs, for `stats_view`."""
        return {"active_sessions": self.sessions.active_count(self.config), "live_browsers": self.browsers.live_count()}

    def rows(self, object_name: str, start: int = 0, limit: int | None = None) -> list[dict[str, str]]:
        """Current rows of CUSTOMER or ITEM (or TRDR/MTRL) in key order, as field-keyed dicts."""
        with self.lock:
            store = self._store(object_name)
            keys = store.keys()
            window = keys[start:] if limit is None else keys[start : start + limit]
            return [store.as_dict(row) for row in store.rows(window)]

    def setdata_requests(self) -> list[dict[str, Any]]:
        """The setData requests received, oldest first, passwords redacted."""
        with self.lock:
            return [dict(entry) for entry in self.setdata_log]

    # -- steering --------------------------------------------------------------------------------------------
    def patch_row(self, object_name: str, key: int, fields: dict[str, Any]) -> dict[str, str]:
        """Change fields of a row as if someone edited it in SoftOne; UPDDATE becomes now unless given."""
        with self.lock:
            store = self._store(object_name)
            if store.get(key) is None:
                raise KeyError(f"{store.spec.name} {key} does not exist")
            store.update(key, self._clean(store, fields), self.config.local_now_text())
            return store.as_dict(store.get(key) or ())

    def touch_rows(self, object_name: str, every: int, fields: dict[str, Any] | None = None, offset: int = 0) -> int:
        """Edit every `every`-th live row in key order, from position `offset`, as `patch_row` does (the given
        fields, UPDDATE now unless given), in one step; for benchmarks that change a share of a big table.
        Returns how many rows were edited."""
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError("every must be a whole number of at least 1")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ValueError("offset must be a whole number of at least 0")
        with self.lock:
            store = self._store(object_name)
            clean, now_text = self._clean(store, fields or {}), self.config.local_now_text()
            keys = store.keys()
            chosen = [keys[position] for position in range(offset, len(keys), every)]
            for key in chosen:
                store.update(key, clean, now_text)
            return len(chosen)

    def insert_row(self, object_name: str, fields: dict[str, Any]) -> int:
        """Add a row as if someone created it in SoftOne; returns its key."""
        with self.lock:
            store = self._store(object_name)
            return store.insert(self._clean(store, fields), self.config.local_now_text())

    def expire_sessions(self) -> int:
        """Expire every clientID now; their next call answers -101."""
        with self.lock:
            return self.sessions.expire_all()

    def reset(self, *, sessions: bool = False) -> None:
        """Back to the seeded rows, initial config, zero counters; no reqIDs or faults."""
        with self.lock:
            self._build(dataclasses.replace(self._initial))
            if sessions:
                self.sessions = SessionTable()

    # -- helpers ---------------------------------------------------------------------------------------------
    def _store(self, object_name: str) -> ObjectStore:
        spec = lookup_object(object_name)
        if spec is None:
            raise LookupError(f"unknown object {object_name!r}; the sandbox holds CUSTOMER and ITEM")
        return self.stores[spec.name]

    def _shown(self, store: ObjectStore, key: int, row: tuple[str, ...]) -> dict[str, str]:
        return store.as_dict(row)

    @staticmethod
    def _clean(store: ObjectStore, fields: dict[str, Any]) -> dict[str, str]:
        clean: dict[str, str] = {}
        for name, value in fields.items():
            spec_field = store.spec.field(str(name))
            if spec_field is None:
                raise ValueError(f"{store.spec.name} has no field {name!r}")
            if spec_field.name != store.spec.key:
                clean[spec_field.name] = "" if value is None else str(value)
        return clean
