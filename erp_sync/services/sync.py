"""SyncRunner: the one function that runs a sync (docs/architecture.md#how-a-run-flows).

The scheduler, the cron endpoints, the admin API and the CLI all call `SyncRunner.run` (or `prepare` then
`execute`, when the caller must answer before the run ends). A run reads like its table of contents:
claim the slot or open a run, take the lease, read page by page (each page one transaction), reconcile deletes,
push local changes back, finish. The watermark only moves when the run completes.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from erp_sync.clock import Clock
from erp_sync.connectors.base import ErpConnector, Page, Query, Window, redact
from erp_sync.db import bindings, runs
from erp_sync.db.failures import driver_words, unavailable
from erp_sync.db.repository import IntegrationRecord, IntegrationRepository
from erp_sync.db.target import TargetTable, Upserter
from erp_sync.domain import run as rules
from erp_sync.domain.integration import IntegrationSpec
from erp_sync.domain.mapping import FieldMapping, MappingPlan
from erp_sync.domain.run import RunStats, RunStatus, Trigger
from erp_sync.domain.soap import filter_pairs
from erp_sync.errors import ErpSyncError
from erp_sync.services.deletes import reconcile_deletes
from erp_sync.services.load import load_page
from erp_sync.services.run.context import RunContext, RunProgress
from erp_sync.services.two_way.push import PushReport, push_local_changes
from erp_sync.services.two_way.versions import VersionedConnector

log = logging.getLogger(__name__)

ConnectorFactory = Callable[[IntegrationSpec], ErpConnector]
ProgressCallback = Callable[[RunStats], None]
AfterRunHook = Callable[[int, Trigger, "RunOutcome"], None]  # (integration id, trigger, outcome)


class SyncInProgressError(ErpSyncError):
    code = "SYNC_IN_PROGRESS"


class StopSignal(Protocol):
    def is_set(self) -> bool: ...


@dataclass
class PreparedRun:
    """A run that owns its slot and its lease and is ready to execute."""

    run_id: int
    record: IntegrationRecord
    lease: runs.Lease
    trigger: Trigger
    full: bool
    dry_run: bool
    started_at: datetime


@dataclass
class RunOutcome:
    run_id: int | None
    status: str
    stats: RunStats = field(default_factory=RunStats)
    error_code: str | None = None
    error_message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status in (RunStatus.SUCCEEDED, RunStatus.SUCCEEDED_WITH_ERRORS)


def source_query(spec: IntegrationSpec) -> Query:
    """What the connector is asked to read for an integration."""
    source = spec.source
    return Query(object=source.object, mode=source.mode, list=source.list,
                 filters=source.filters if isinstance(source.filters, str) else "",
                 criteria=filter_pairs(source.filters), cursor_field=source.cursor_field,
                 key_field=source.key_field, page_size=source.page_size, requests_ahead=source.requests_ahead,
                 params=dict(source.params))


END_RECORD_WAITS = (0.5, 1.0, 2.0, 4.0)  # seconds between tries to record a run's end in an unreachable database


def _while_unreachable(write: Callable[[], None]) -> None:
    """`write`, tried again while the database cannot be reached (a server restarting): a run whose page failed
    because the database went away records its end once it is back, instead of staying `running` with its lease
    held until the lease expires. A database away for longer still raises."""
    for wait in (*END_RECORD_WAITS, None):
        try:
            return write()
        except DBAPIError as exc:
            if wait is None or not unavailable(exc):
                raise
            log.warning("the database is unreachable (%s); recording the run's end again in %.1fs",
                        driver_words(exc), wait)
            time.sleep(wait)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SyncRunner:
    def __init__(self, engine: Engine, repository: IntegrationRepository, connectors: ConnectorFactory,
                 clock: Clock, lease_ttl: timedelta, owner: str | None = None,
                 stop: StopSignal | None = None, after_run: AfterRunHook | None = None) -> None:
        self._engine = engine
        self._repo = repository
        self._connectors = connectors
        self._clock = clock
        self._ttl = lease_ttl
        self.owner = owner or default_owner()
        self._stop = stop
        self._after_run = after_run  # erp_sync.services.run_hooks: totals, pause, notifications, retries

    # -- the public entry points -------------------------------------------------------------------------------
    def run(self, integration_id: int, trigger: Trigger, *, scheduled_for: datetime | None = None,
            full: bool = False, dry_run: bool = False, progress: ProgressCallback | None = None) -> RunOutcome:
        """Run one sync to the end; a slot already claimed elsewhere or a live lease give a `skipped` outcome."""
        try:
            prepared = self.prepare(integration_id, trigger, scheduled_for=scheduled_for, full=full,
                                    dry_run=dry_run)
        except SyncInProgressError as exc:
            return RunOutcome(exc.details.get("skippedRunId"), RunStatus.SKIPPED, error_code=exc.code,
                              error_message=exc.message, details=exc.details)
        if prepared is None:
            return RunOutcome(None, RunStatus.SKIPPED, error_message="slot already claimed by another scheduler")
        return self.execute(prepared, progress)

    def prepare(self, integration_id: int, trigger: Trigger, *, scheduled_for: datetime | None = None,
                full: bool = False, dry_run: bool = False) -> PreparedRun | None:
        """Claim the slot (scheduled runs) or open a run, then take the lease. None: the slot was taken."""
        record = self._repo.get(integration_id)
        now = self._clock.now()
        runs.sweep_stale(self._engine, now)
        if scheduled_for is not None:
            run_id = runs.claim_slot(self._engine, integration_id, scheduled_for, trigger, self.owner, now)
            if run_id is None:
                return None
        else:
            active = runs.active_run_id(self._engine, integration_id, now)
            if active is not None:
                raise self._in_progress(integration_id, active, None)
            run_id = runs.open_run(self._engine, integration_id, trigger, self.owner, now, full=full,
                                   dry_run=dry_run)
        lease = runs.acquire_lease(self._engine, integration_id, self.owner, run_id, now, self._ttl)
        if lease is None:
            active = runs.active_run_id(self._engine, integration_id, now)
            runs.record_end(self._engine, run_id, self._end(now, RunOutcome(
                run_id, RunStatus.SKIPPED, error_code="SYNC_IN_PROGRESS",
                error_message=f"run {active} of integration {integration_id} was still running"), None))
            raise self._in_progress(integration_id, active, run_id)
        with self._engine.begin() as conn:
            runs.update_run(conn, run_id, full=full, dry_run=dry_run, watermark_before=record.watermark)
        return PreparedRun(run_id, record, lease, trigger, full, dry_run, now)

    def execute(self, prepared: PreparedRun, progress: ProgressCallback | None = None) -> RunOutcome:
        """Run a prepared sync to the end, always recording how it ended and releasing the lease."""
        stats = RunStats()
        connector: ErpConnector | None = None
        try:
            connector = self._connectors(prepared.record.spec)
            outcome = self._steps(prepared, connector, stats, progress)
        except ErpSyncError as exc:
            outcome = self._failed(prepared, stats, exc.code, exc.message, exc.details)
        except Exception as exc:  # an unexpected failure must still end the run and free the lease
            log.exception("sync crashed", extra={"integration_id": prepared.record.id, "run_id": prepared.run_id})
            outcome = self._failed(prepared, stats, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}", {})
        finally:
            if connector is not None:
                connector.close()
        self._log_completed(prepared, outcome)
        if self._after_run is not None:
            self._after_run(prepared.record.id, prepared.trigger, outcome)
        return outcome

    # -- the steps ---------------------------------------------------------------------------------------------
    def _steps(self, prepared: PreparedRun, connector: ErpConnector, stats: RunStats,
               progress: ProgressCallback | None) -> RunOutcome:
        """A claimed run's steps: open it, read and load the pages, deletes, push, statistics, finish."""
        window = self._window(prepared)
        ctx, run = self._open(prepared, window, stats)
        try:
            self._read_pages(prepared, connector, ctx, run, window, progress)
            if ctx.track_seen:
                reconcile_deletes(ctx, run)
            details = self._push(prepared, connector, ctx, run)
            self._keep_statistics(ctx, run)
            return self._complete(prepared, run, details)
        finally:
            run.seen.close()

    def _open(self, prepared: PreparedRun, window: Window | None, stats: RunStats) -> tuple[RunContext, RunProgress]:
        """The target table (created when asked), the compiled mapping, and whether this is a first load."""
        spec = prepared.record.spec
        target = self._target(spec)
        plan = MappingPlan.compile(
            [FieldMapping(m.source, m.target, m.type, m.default) for m in spec.mappings], list(spec.keys),
            spec.connection.server_timezone, limits=target.limits())
        upserter = Upserter(target, plan.typed_columns, list(spec.keys), soft_delete_column=spec.soft_delete_column)
        complete_scan = window is None or window.since is None
        assume_new, target_empty = (False, False) if prepared.dry_run else self._first_load(prepared.record.id,
                                                                                          upserter)
        ctx = RunContext(
            engine=self._engine, clock=self._clock, spec=spec, integration_id=prepared.record.id,
            run_id=prepared.run_id, lease=prepared.lease, lease_ttl=self._ttl, plan=plan, upserter=upserter,
            dry_run=prepared.dry_run, track_seen=complete_scan and spec.delete_policy != "ignore",
            target_empty=target_empty, adopting=assume_new and not target_empty)
        return ctx, RunProgress(stats=stats, assume_new=assume_new)

    def _read_pages(self, prepared: PreparedRun, connector: ErpConnector, ctx: RunContext, run: RunProgress,
                    window: Window | None, progress: ProgressCallback | None) -> None:
        """Each page in its own transaction, counted, logged and reported; stops on request or on too many row
        errors."""
        spec, stats = prepared.record.spec, run.stats
        context = {"integration_id": prepared.record.id, "run_id": prepared.run_id}
        for page in connector.pages(source_query(spec), window):
            self._stop_if_asked(page.number)
            page_stats = self._load(ctx, run, page)
            stats.add(page_stats)
            log.info("sync.page", extra={**context, "page": page.number, "rows": len(page),
                                          "fetched": stats.fetched, "inserted": page_stats.inserted,
                                          "updated": page_stats.updated, "unchanged": page_stats.unchanged})
            if progress is not None:
                progress(stats)
            if rules.error_share_exceeded(stats.errors, stats.fetched, spec.options.max_error_share):
                raise ErpSyncError(
                    f"{stats.errors} of {stats.fetched} rows could not be mapped (limit "
                    f"{spec.options.max_error_share:.0%}); see the run's row errors, fix the mapping or the data",
                    code="TOO_MANY_ROW_ERRORS", details={"page": page.number})

    def _push(self, prepared: PreparedRun, connector: ErpConnector, ctx: RunContext,
              run: RunProgress) -> dict[str, Any]:
        """Two-way: push the local changes, counted into the run's stats as they go (a failure midway keeps what was
        done); returns the run's details."""
        if prepared.record.spec.direction != "two_way":
            return {}
        stats = run.stats
        push, errors_before = PushReport(), stats.errors
        try:
            push_local_changes(ctx, VersionedConnector(ctx, connector), push)
        finally:
            stats.pushed, stats.errors = push.pushed, errors_before + push.failed
        return {"push": push.as_dict()}

    def _keep_statistics(self, ctx: RunContext, run: RunProgress) -> None:
        """The bindings' planner statistics, refreshed when this run was a first load or outgrew them, so that the
        next runs' lookups are planned on the table as it is (`bindings.refresh_statistics`)."""
        if ctx.dry_run:
            return
        try:
            with self._engine.begin() as conn:
                bindings.refresh_statistics(conn, run.stats.inserted, first_load=ctx.target_empty or ctx.adopting)
        except DBAPIError as exc:  # the rows are written: stale statistics cost speed, never data, so the run goes on
            log.warning("the bindings' statistics were not refreshed after run %s (%s); autovacuum will refresh them",
                        ctx.run_id, driver_words(exc))

    def _complete(self, prepared: PreparedRun, run: RunProgress, details: dict[str, Any]) -> RunOutcome:
        """Finish a run that read every page: its status, and the watermark moved on (not by a dry run)."""
        stats = run.stats
        if prepared.dry_run:
            details["dryRun"] = {"wouldInsert": stats.inserted, "wouldUpdate": stats.updated,
                                 "wouldDelete": stats.deleted, "wouldPush": stats.pushed,
                                 "unchanged": stats.unchanged}
        status = RunStatus.SUCCEEDED_WITH_ERRORS if stats.errors else RunStatus.SUCCEEDED
        watermark = None if prepared.dry_run else rules.advance_watermark(
            prepared.record.watermark, run.max_cursor, self._server_local(prepared))
        return self._finish(prepared, RunOutcome(prepared.run_id, status, stats, details=details), watermark)

    def _stop_if_asked(self, page_number: int) -> None:
        if self._stop is not None and self._stop.is_set():
            raise ErpSyncError("the process is shutting down; the run stopped after its last committed page "
                               "and the next run continues from the same watermark", code="SYNC_FAILED",
                               details={"page": page_number, "interrupted": True})

    def _load(self, ctx: RunContext, run: RunProgress, page: Page) -> RunStats:
        """Load one page in one transaction; a database error names the page and what to do."""
        try:
            return load_page(ctx, run, page, self._clock.now())
        except DBAPIError as exc:
            raise ErpSyncError(
                f"the database refused page {page.number} (rows {page.start + 1}-{page.start + len(page)}); "
                f"the page was rolled back: {str(exc.orig).splitlines()[0]}. The pages before it stay written "
                "and the next run reads from the same watermark: fix the cause (a constraint or column of the "
                "target table, or the database itself) and run again", code="DATABASE_ERROR",
                details={"page": page.number}) from exc

    def _first_load(self, integration_id: int, upserter: Upserter) -> tuple[bool, bool]:
        """(the integration has no bindings yet, and its target table is empty too)"""
        with self._engine.connect() as conn:
            if bindings.any_bound(conn, integration_id):
                return False, False
            return True, upserter.is_empty(conn)

    def _target(self, spec: IntegrationSpec) -> TargetTable:
        try:
            target = TargetTable.reflect(self._engine, spec.target.table, spec.target.schema_)
        except ErpSyncError as exc:
            if exc.code != "UNKNOWN_TABLE" or not spec.target.create_if_missing:
                raise
            columns = [(m.target, m.type) for m in spec.mappings]
            if spec.soft_delete_column:
                columns.append((spec.soft_delete_column, "datetime"))
            TargetTable.create(self._engine, spec.target.table, spec.target.schema_, columns, list(spec.keys))
            target = TargetTable.reflect(self._engine, spec.target.table, spec.target.schema_)
        return target

    def _server_local(self, prepared: PreparedRun) -> datetime:
        return rules.server_local(prepared.started_at, prepared.record.spec.connection.server_timezone)

    def _window(self, prepared: PreparedRun) -> Window | None:
        spec = prepared.record.spec
        if not spec.source.cursor_field:
            return None
        since, until = rules.incremental_window(
            prepared.record.watermark, self._server_local(prepared),
            timedelta(minutes=spec.options.overlap_minutes), prepared.full)
        return Window(since=since, until=until)

    # -- ending a run ------------------------------------------------------------------------------------------
    def _failed(self, prepared: PreparedRun, stats: RunStats, code: str, message: str,
                details: dict[str, Any]) -> RunOutcome:
        text = str(redact(message))
        where = f"integration {prepared.record.id}, run {prepared.run_id}"
        if details.get("page"):
            where += f", page {details['page']}"
        return self._finish(prepared, RunOutcome(
            prepared.run_id, RunStatus.FAILED, stats, code, f"{where}: {text}",
            {k: v for k, v in details.items() if isinstance(v, str | int | float | bool)}))

    def _finish(self, prepared: PreparedRun, outcome: RunOutcome, watermark: str | None = None) -> RunOutcome:
        """Record the end (fenced: `runs.finish`); a run that lost its lease records it on its own run row only
        (LEASE_LOST)."""
        end = self._end(prepared.started_at, outcome, watermark or prepared.record.watermark)
        if outcome.error_code == "LEASE_LOST":
            runs.record_end(self._engine, prepared.run_id, end)
            return outcome
        try:
            _while_unreachable(lambda: runs.finish(self._engine, prepared.lease, end, watermark))
        except runs.LeaseLostError as lost:
            return self._failed(prepared, outcome.stats, lost.code, lost.message, {})
        return outcome

    def _end(self, started_at: datetime, outcome: RunOutcome, watermark: str | None) -> runs.RunEnd:
        now = self._clock.now()
        return runs.RunEnd(str(outcome.status), now, int((now - started_at).total_seconds() * 1000),
                           outcome.stats.as_dict(), outcome.error_code, outcome.error_message,
                           outcome.details or None, watermark)

    def _in_progress(self, integration_id: int, active: int | None, skipped: int | None) -> SyncInProgressError:
        return SyncInProgressError(
            f"integration {integration_id} is already syncing (run {active}); wait for it to finish or watch "
            f"GET /api/runs/{active}", details={"runId": active, "skippedRunId": skipped})

    def _log_completed(self, prepared: PreparedRun, outcome: RunOutcome) -> None:
        log.info("sync.completed", extra={
            "event": "sync.completed", "integration_id": prepared.record.id, "run_id": prepared.run_id,
            "trigger": prepared.trigger, "status": str(outcome.status), "error_code": outcome.error_code,
            "error_message": outcome.error_message, "full": prepared.full, "dry_run": prepared.dry_run,
            "watermark_before": prepared.record.watermark,
            "duration_ms": max(0, int((self._clock.now() - prepared.started_at).total_seconds() * 1000)),
            **outcome.stats.as_dict()})
