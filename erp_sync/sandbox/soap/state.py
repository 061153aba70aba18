"""SoapSandboxState: the pages' records, the fault switches, the counters and the write log of one SOAP sandbox,
with the operations tests use to inspect and steer it (shared by the admin surface and in-process callers).

One re-entrant lock guards it (..locked_state, with the steering both sandboxes share); the app holds it while an
operation runs. Rows are shown as dicts by field name, `Key` included. Edits made here are edits "in NAV": they
stamp Last_Date_Modified and change the Key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, ClassVar

from ..locked_state import LockedState
from . import config as config_module
from .config import SoapSandboxConfig
from .faults import FaultBoard
from .pages import PAGES, PageSpec, lookup_page
from .service import PageService, blank_value
from .store import PageStore


@dataclass
class Stats:
    requests: int = 0
    wsdl_fetches: int = 0
    auth_failures: int = 0
    faults: int = 0
    rows_served: int = 0
    calls: dict[str, int] = field(default_factory=dict)

    def count_call(self, operation: str) -> None:
        self.requests += 1
        self.calls[operation] = self.calls.get(operation, 0) + 1


class SoapSandboxState(LockedState[SoapSandboxConfig, str]):
    """The mutable world behind one SOAP sandbox app."""

    config_rules: ClassVar[ModuleType] = config_module
    faults: FaultBoard  # the SOAP board, with its own switches

    def _build(self, config: SoapSandboxConfig) -> None:
        self.config = config
        counts = {"Customer": config.customers, "Item": config.items}
        self.stores = {name: PageStore(spec, config.seed, counts[name]) for name, spec in PAGES.items()}
        self.writes: list[dict[str, Any]] = []
        self.services = {name: PageService(store, lambda: self.config.today(), self.writes)
                         for name, store in self.stores.items()}
        self.faults = FaultBoard()
        self.stats = Stats()

    # -- inspection ------------------------------------------------------------------------------------------
    def rows(self, page: str, start: int = 0, limit: int | None = None) -> list[dict[str, str]]:
        """Current records of a page in `No` order, as dicts with their Key."""
        with self.lock:
            store = self._store(page)
            numbers = store.numbers()
            window = list(numbers[start:] if limit is None else numbers[start:start + limit])
            return [self._shown(store, n, row) for n, row in zip(window, store.rows(window), strict=True)]

    def write_log(self) -> list[dict[str, Any]]:
        """Create, Update and Delete requests received, oldest first, with the fields they sent."""
        with self.lock:
            return [dict(entry) for entry in self.writes]

    # -- steering --------------------------------------------------------------------------------------------
    def patch_row(self, page: str, number: str, fields: dict[str, Any]) -> dict[str, str]:
        """Change fields as a NAV user would; Last_Date_Modified becomes today unless given; a new Key."""
        with self.lock:
            store = self._store(page)
            current = store.get(number)
            if current is None:
                raise KeyError(f"{store.spec.name} {number} does not exist")
            values = dict(zip(store.spec.names[1:], current, strict=True))
            values["Last_Date_Modified"] = self.config.today()
            values.update(self._clean(store.spec, fields))
            store.put(number, tuple(values[name] for name in store.spec.names[1:]))
            return self._shown(store, number, store.get(number) or ())

    def touch_rows(self, page: str, every: int, fields: dict[str, Any] | None = None, offset: int = 0) -> int:
        """The same change to every `every`-th record from position `offset`; returns how many."""
        if isinstance(every, bool) or not isinstance(every, int) or every < 1 or not isinstance(offset, int):
            raise ValueError("every must be a whole number of at least 1, offset a whole number")
        with self.lock:
            numbers = self._store(page).numbers()
            chosen = [numbers[position] for position in range(offset, len(numbers), every)]
            for number in chosen:
                self.patch_row(page, number, fields or {})
            return len(chosen)

    def insert_row(self, page: str, fields: dict[str, Any]) -> str:
        """Add a record as a NAV user would (any field may be given); returns its No."""
        with self.lock:
            store = self._store(page)
            spec = store.spec
            values = {f.name: blank_value(f.xsd, spec) for f in spec.fields[1:]}
            values["Last_Date_Modified"] = self.config.today()
            values.update(self._clean(spec, fields))
            number = values[spec.key] or store.new_number()
            if store.get(number) is not None:
                raise ValueError(f"{spec.name} {number} already exists")
            values[spec.key] = number
            store.put(number, tuple(values[name] for name in spec.names[1:]))
            return number

    def reset(self) -> None:
        """Seeded records, initial config, zero counters, no faults, an empty write log."""
        with self.lock:
            self._build(dataclasses.replace(self._initial))

    # -- helpers ---------------------------------------------------------------------------------------------
    def _store(self, page: str) -> PageStore:
        spec = lookup_page(page)
        if spec is None:
            raise LookupError(f"unknown page {page!r}; the sandbox publishes {', '.join(PAGES)}")
        return self.stores[spec.name]

    def _shown(self, store: PageStore, number: str, row: tuple[str, ...]) -> dict[str, str]:
        return dict(zip(store.spec.names, (store.key_of(number), *row), strict=True))

    @staticmethod
    def _clean(spec: PageSpec, fields: dict[str, Any]) -> dict[str, str]:
        clean: dict[str, str] = {}
        for name, value in fields.items():
            if name not in spec.index or name == "Key":
                raise ValueError(f"{spec.name} has no field {name!r} that can be set")
            clean[name] = "" if value is None else str(value)
        return clean
