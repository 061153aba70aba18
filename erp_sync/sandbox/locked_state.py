"""LockedState: what the SoftOne and the SOAP sandbox's states share, said once: one re-entrant lock, a build
from the config and back to the initial config on reset, and the steering operations that only take the lock and
hand on to the fault board, the config rules or a store (arm and list faults, change runtime switches, show or
delete a row, the counters view).

A state subclass says how it builds its world (`_build`), which store an object or page name means (`_store`),
how a stored row is shown (`_shown`) and which module holds its config rules (`config_rules`: `updated` and
`public_view`).
"""

from __future__ import annotations

import dataclasses
import threading
from types import ModuleType
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from .faults import FaultBoard

ConfigT = TypeVar("ConfigT")
KeyT = TypeVar("KeyT")
KeyT_contra = TypeVar("KeyT_contra", contravariant=True)


class _Spec(Protocol):
    @property
    def name(self) -> str: ...


class RowStore(Protocol[KeyT_contra]):
    """What the shared operations need of a store: its object's name, a row by key, delete, a count."""

    @property
    def spec(self) -> _Spec: ...

    def get(self, key: KeyT_contra, /) -> tuple[str, ...] | None: ...

    def delete(self, key: KeyT_contra, /) -> None: ...

    def __len__(self) -> int: ...


class LockedState(Generic[ConfigT, KeyT]):
    """The mutable world behind one sandbox app, guarded by `lock`; every public method takes it."""

    config_rules: ClassVar[ModuleType]
    config: ConfigT
    stats: Any
    faults: FaultBoard
    stores: dict[str, Any]

    def __init__(self, config: ConfigT) -> None:
        self.lock = threading.RLock()
        self._initial = dataclasses.replace(config)  # type: ignore[type-var]  # a config is a dataclass
        self._build(dataclasses.replace(config))  # type: ignore[type-var]

    def _build(self, config: ConfigT) -> None:
        raise NotImplementedError

    def _store(self, name: str) -> RowStore[KeyT]:
        raise NotImplementedError

    def _shown(self, store: Any, key: KeyT, row: tuple[str, ...]) -> dict[str, str]:
        raise NotImplementedError

    def _live_counts(self) -> dict[str, int]:
        """Counters that are not in `stats` but read from the live world; none unless a sandbox has some."""
        return {}

    # -- inspection ------------------------------------------------------------------------------------------
    def stats_view(self) -> dict[str, Any]:
        """Counters plus what is live now, the fired faults and the row counts."""
        with self.lock:
            view = dataclasses.asdict(self.stats)
            view.update(self._live_counts())
            view["faults_fired"] = dict(self.faults.fired)
            view["rows"] = {name: len(store) for name, store in self.stores.items()}
            return view

    def row(self, name: str, key: KeyT) -> dict[str, str] | None:
        with self.lock:
            store = self._store(name)
            row = store.get(key)
            return None if row is None else self._shown(store, key, row)

    # -- steering --------------------------------------------------------------------------------------------
    def delete_row(self, name: str, key: KeyT) -> None:
        with self.lock:
            store = self._store(name)
            if store.get(key) is None:
                raise KeyError(f"{store.spec.name} {key} does not exist")
            store.delete(key)

    def set_faults(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Arm or clear fault switches (see faults.py); returns what is armed."""
        with self.lock:
            return self.faults.configure(payload)

    def pending_faults(self) -> dict[str, Any]:
        with self.lock:
            return self.faults.pending()

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change runtime switches (the config module's RUNTIME_FIELDS); returns the resulting config."""
        with self.lock:
            self.config = self.config_rules.updated(self.config, changes)
            return self.config_rules.public_view(self.config)
