"""A run's context, fixed when it starts, and its progress, which its pages move on.

`RunContext` is immutable: what every step of one run reads (the integration, the run and its lease, the mapping
plan and the target's upserter, the mode flags). `RunProgress` is the little that changes while the run reads:
its counts, the largest cursor value seen, the ERP keys seen (for deletes) and whether pages may still be written
as a first load's (the first page that meets a bound key turns that off for the rest of the run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from erp_sync.clock import Clock
from erp_sync.db.runs import Lease
from erp_sync.db.target import Upserter
from erp_sync.domain.integration import IntegrationSpec
from erp_sync.domain.mapping import MappingPlan
from erp_sync.domain.run import RunStats
from erp_sync.services.seen_keys import SeenKeys


@dataclass(frozen=True)
class RunContext:
    """What every page and step of one run shares; nothing in it changes during the run."""

    engine: Engine
    clock: Clock  # a fresh `now` for every lease renewal
    spec: IntegrationSpec
    integration_id: int
    run_id: int
    lease: Lease
    lease_ttl: timedelta
    plan: MappingPlan
    upserter: Upserter
    dry_run: bool
    track_seen: bool  # a complete scan under a delete policy: the ERP keys read are kept for the deletes
    target_empty: bool = False  # a first load into a target table that had no rows when the run began
    adopting: bool = False  # a first load into a target that had rows: its rows may be there already


@dataclass
class RunProgress:
    """What a run's pages move on."""

    stats: RunStats = field(default_factory=RunStats)
    assume_new: bool = False  # no bindings when the run began (a first load), until a page proves otherwise
    seen: SeenKeys = field(default_factory=SeenKeys)  # ERP keys read, while the context's track_seen
    max_cursor: datetime | None = None

    def note_cursor(self, latest: datetime | None) -> None:
        if latest is not None and (self.max_cursor is None or latest > self.max_cursor):
            self.max_cursor = latest
