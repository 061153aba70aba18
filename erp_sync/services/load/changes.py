"""What a page's rows are against their bindings: looked up (`LookedUp`), classified and counted (`compare`), and what
the page writes (`Changes`), after two-way conflicts are settled (`settle_conflicts`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from erp_sync.domain.mapping import MappedRows
from erp_sync.domain.run import RunStats
from erp_sync.services.run.context import RunContext
from erp_sync.services.two_way import conflicts as conflicts_of_page


@dataclass
class LookedUp:
    """A page's rows to compare: mapped, with their page positions (None: all the page's rows, in order), source
    hashes by ERP key (None: the page has no record ids), the bindings' row hashes by ERP key (None: no binding,
    TOMBSTONED: a tombstone), and how many rows were unchanged at the source."""

    mapped: MappedRows
    positions: list[int] | None
    sources: dict[str, str] | None
    known: dict[str, str | None]
    unchanged: int = 0

    def position(self, index: int) -> int:
        return index if self.positions is None else self.positions[index]


@dataclass
class Changes:
    """What a page writes: changed rows (values, bindings, keys) and bindings whose source hash alone changed."""

    values: list[tuple[Any, ...]] = field(default_factory=list)
    bindings: list[tuple[str, str, str, str | None]] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    refreshed: list[tuple[str, str]] = field(default_factory=list)


def compare(looked: LookedUp, stats: RunStats) -> Changes:
    """Classify the mapped rows against their bindings (counted into `stats`): unchanged, inserted or updated."""
    changes = Changes()
    add_values, add_binding, add_key = changes.values.append, changes.bindings.append, changes.keys.append
    known, sources, mapped = looked.known, looked.sources, looked.mapped
    for values, key, key_text, row_hash, erp_key in zip(
        mapped.values, mapped.keys, mapped.key_texts, mapped.hashes, mapped.erp_keys, strict=True
    ):
        previous = known.get(erp_key)
        source = sources[erp_key] if sources is not None else None
        if previous == row_hash:
            stats.unchanged += 1
            if source is not None:
                changes.refreshed.append((erp_key, source))
            continue
        if not previous:  # no binding, or a tombstone: the ERP record is new again
            stats.inserted += 1
        else:
            stats.updated += 1
        add_values(values)
        add_binding((erp_key, key_text, row_hash, source))
        add_key(key)
    return changes


def settle_conflicts(ctx: RunContext, conn: Connection, changes: Changes, known: dict[str, str | None],
                     now: datetime) -> tuple[Changes, int]:
    """Two-way: the changes the ERP's values win (`two_way.conflicts`), and the number of conflicts."""
    kept, conflicts = conflicts_of_page.settle(ctx, conn, changes.values, changes.bindings, changes.keys, known, now)
    return Changes([changes.values[i] for i in kept], [changes.bindings[i] for i in kept],
                   [changes.keys[i] for i in kept], changes.refreshed), conflicts
