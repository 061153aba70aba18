"""The only wiring: `build(settings)` creates the engine, sessions, cipher, clock, connector factory, runner,
dispatcher, scheduler and, on the embedded default, the SoftOne sandbox with a demo integration.

Nothing connects or starts at import. `ErpSync.start_background()` starts what runs in the background (the
sandbox, the scheduler); `close()` stops it in reverse order.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from erp_sync.clock import Clock, SystemClock
from erp_sync.connectors.base import ErpConnector
from erp_sync.connectors.soap.factory import check_object, soap_connector
from erp_sync.connectors.softone import SessionPool, SoftOneConfig, SoftOneConnector
from erp_sync.connectors.webhook import post_json
from erp_sync.db.encryption import Cipher
from erp_sync.db.engine import make_engine, make_session_factory
from erp_sync.db.failures import database_error, unavailable
from erp_sync.db.repository import IntegrationRepository
from erp_sync.domain.integration import IntegrationSpec, SoftOneConnection
from erp_sync.domain.run import Trigger
from erp_sync.domain.soap import SoapConnection
from erp_sync.errors import ErpSyncError
from erp_sync.scheduling.scheduler import JobScheduler, ScheduleEntry
from erp_sync.services.discovery import DiscoveryService
from erp_sync.services.dispatch import SyncDispatcher
from erp_sync.services.findings import RunFindingsService
from erp_sync.services.integrations import IntegrationService, NoScheduler, ScheduleListener
from erp_sync.services.metrics import MetricsService
from erp_sync.services.monitoring import MonitoringService
from erp_sync.services.notifications import Notifier
from erp_sync.services.readiness import ReadinessService
from erp_sync.services.retention import CHECK_INTERVAL, DailyCleanup, RetentionService
from erp_sync.services.run_hooks import AfterRun
from erp_sync.services.startup import StartupService
from erp_sync.services.sync import RunOutcome, SyncRunner
from erp_sync.settings import Settings

log = logging.getLogger(__name__)


def schedule_entry(integration_id: int, spec: IntegrationSpec) -> ScheduleEntry:
    return ScheduleEntry(integration_id, spec.schedule.cron_expression, spec.schedule.timezone, spec.is_active)


class SchedulerBridge(ScheduleListener):
    """Tells the running APScheduler what the integration service changed."""

    def __init__(self, scheduler: JobScheduler) -> None:
        self._scheduler = scheduler

    def integration_changed(self, integration_id: int, spec: IntegrationSpec | None) -> None:
        self._scheduler.apply(schedule_entry(integration_id, spec) if spec else None, integration_id)


class ConnectorFactory:
    """Builds a connector for an integration; SoftOne sessions are shared per connection through one pool."""

    def __init__(self, request_timeout: float = 30.0, soap_cache: str | None = None, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep  # the retries' backoff wait: the SoftOne session pool's and every SOAP client's
        self._pool = SessionPool(sleep=sleep)
        self._timeout = request_timeout
        self._soap_cache = soap_cache  # zeep's SQLite cache of WSDLs, in the instance folder

    def __call__(self, spec: IntegrationSpec) -> ErpConnector:
        connection = spec.connection
        if isinstance(connection, SoftOneConnection):
            config = SoftOneConfig(
                base_url=connection.base_url, username=connection.username, password=spec.password or "",
                app_id=connection.app_id, company=connection.company, branch=connection.branch,
                module=connection.module, ref_id=connection.ref_id, server_timezone=connection.server_timezone,
                timeout_seconds=self._timeout, window_overlap=timedelta(0))  # the runner owns the overlap
            return SoftOneConnector(config, self._pool)
        if isinstance(connection, SoapConnection):
            return soap_connector(spec, self._soap_cache, sleep=self._sleep)
        raise ErpSyncError(f"connector {spec.connector!r} is not supported", code="ERP_NOT_SUPPORTED",
                           field="connector")

    def check_source(self, spec: IntegrationSpec) -> None:
        """What create and update ask of the ERP side: a SOAP source.object must be a record of its WSDL."""
        if isinstance(spec.connection, SoapConnection):
            check_object(spec, self._soap_cache)

    def close(self) -> None:
        self._pool.close()


@dataclass
class ErpSync:
    """Everything the processes need, built once."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    cipher: Cipher
    repository: IntegrationRepository
    integrations: IntegrationService
    discovery: DiscoveryService
    monitoring: MonitoringService
    findings: RunFindingsService
    runner: SyncRunner
    dispatch: SyncDispatcher
    startup: StartupService
    retention: RetentionService
    daily_cleanup: DailyCleanup
    readiness: ReadinessService
    metrics: MetricsService
    after_run: AfterRun
    scheduler: JobScheduler | None
    stopping: threading.Event
    connectors: ConnectorFactory | None = None
    sandbox: Any = None
    _closed: bool = field(default=False)

    def next_run_time(self, integration_id: int) -> datetime | None:
        return self.scheduler.next_run_time(integration_id) if self.scheduler else None

    def desired_schedule(self) -> list[ScheduleEntry]:
        try:
            return [schedule_entry(r.id, r.spec) for r in self.integrations.list()]
        except Exception as exc:
            failure = self.database_unavailable(exc)
            if failure is None:
                raise
            raise failure from exc

    def database_unavailable(self, error: BaseException) -> ErpSyncError | None:
        """DATABASE_ERROR when `error` says this process's database cannot be reached or refuses work (the
        message names the database, password hidden, and quotes the driver); None for anything else."""
        return database_error(error, self.settings.database_url) if unavailable(error) else None

    def reconcile(self) -> None:
        if self.scheduler is not None:
            self.scheduler.reconcile(self.desired_schedule())

    def run_slot(self, integration_id: int, scheduled_for: datetime) -> RunOutcome | None:
        if self.stopping.is_set():
            return None
        try:
            return self.runner.run(integration_id, Trigger.SCHEDULE, scheduled_for=scheduled_for)
        except Exception as exc:
            failure = self.database_unavailable(exc)
            if failure is None:
                raise
            # Nothing could be recorded: the slot stays unclaimed, for catch-up (options.catchUp) to run later.
            log.error("integration %s: the run of slot %s did not start: %s", integration_id,
                      scheduled_for.isoformat(), failure, extra={"integration_id": integration_id})
            return None

    def run_missed(self, integration_id: int, slot: datetime) -> None:
        """Catch-up: run a missed slot once, in the background (the slot claim keeps it to one run)."""
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.run_missed(integration_id, slot)
        else:
            threading.Thread(target=self.run_slot, args=(integration_id, slot), name="erp-sync-catch-up",
                             daemon=True).start()

    def start_scheduler(self) -> None:
        self.daily_cleanup.start()  # in every serving process: the day's claim in the database lets one clean
        if self.scheduler is None:
            return
        self.scheduler.start()
        self.startup.init()
        self.scheduler.poll_every(self.settings.scheduler_poll_seconds, self.desired_schedule)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.stopping.set()
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.dispatch.shutdown(wait=True)
        if self.connectors is not None:
            self.connectors.close()
        if self.sandbox is not None:
            self.sandbox.stop()
        self.after_run.close()
        self.engine.dispose()


# Python's defaults are (700, 10, 10). Not much higher than this: an HTTP connection the ERP closed leaves its
# objects, with the last response's bytes, in reference cycles that only a collection frees; at (20_000, 50, 100)
# a 1M-row run's peak RSS grew, at this setting it stays flat (docs/performance.md#garbage-collector).
GC_THRESHOLDS = (5_000, 10, 10)


def settle_long_lived_objects() -> None:
    """Call once a process has built what it keeps for its lifetime (the CLI does, after `build`).

    A sync allocates a few dozen container objects per row (parsed JSON lists, value tuples, keys); with Python's
    default thresholds the cyclic garbage collector runs every 700 of them and, on its older generations, walks
    every long-lived object of the process (SQLAlchemy, Flask, pydantic, the app). Freezing what exists now takes
    those out of its walk, and fewer young collections do the rest (docs/performance.md#garbage-collector).
    Objects are still freed by reference counting as before; only cycles wait a little longer."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def build(settings: Settings, *, clock: Clock | None = None, with_scheduler: bool | None = None,
          owner: str | None = None) -> ErpSync:
    """Wire the application; starts nothing."""
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    cipher = Cipher(settings.secret_keys)
    repository = IntegrationRepository(sessions, cipher, clock)
    connectors = ConnectorFactory(soap_cache=str(settings.instance_dir / "zeep-cache.sqlite3"))
    stopping = threading.Event()
    runner = SyncRunner(engine, repository, connectors, clock, timedelta(milliseconds=settings.sync_timeout_ms),
                        owner=owner, stop=stopping,
                        after_run=lambda integration, trigger, outcome: holder["app"].after_run(integration, trigger,
                                                                                                 outcome))
    holder: dict[str, ErpSync] = {}
    scheduler = _scheduler(settings, with_scheduler, holder)
    listener: ScheduleListener = SchedulerBridge(scheduler) if scheduler else NoScheduler()
    integrations = IntegrationService(repository, engine, listener, clock, source_check=connectors.check_source)
    retention = RetentionService(engine, clock, settings.operations.retention_days, runner.owner)
    monitoring = MonitoringService(engine, clock, settings.operations.alerts)
    notifier = Notifier(engine, clock, post_json, settings.operations.webhook_url)
    after_run = AfterRun(engine, repository, clock, notifier, monitoring, runner,
                         paused=lambda integration_id: holder["app"].reconcile())
    app = ErpSync(
        settings=settings, engine=engine, sessions=sessions, clock=clock, cipher=cipher, repository=repository,
        integrations=integrations, discovery=DiscoveryService(integrations, connectors),
        monitoring=monitoring,
        findings=RunFindingsService(engine), runner=runner, dispatch=SyncDispatcher(runner, integrations),
        startup=StartupService(engine, integrations, clock, lambda: holder["app"].reconcile(),
                               lambda integration_id, slot: holder["app"].run_missed(integration_id, slot)),
        retention=retention, daily_cleanup=DailyCleanup(retention, stopping, CHECK_INTERVAL),
        readiness=ReadinessService(engine, scheduler), metrics=MetricsService(engine, clock, scheduler),
        after_run=after_run,
        scheduler=scheduler, stopping=stopping, connectors=connectors)
    holder["app"] = app
    return app


def _scheduler(settings: Settings, with_scheduler: bool | None, holder: dict[str, ErpSync]) -> JobScheduler | None:
    """The scheduler when this process schedules (`with_scheduler`, else the settings); its slots run through the
    app `build` puts in `holder` once it is wired."""
    if not (settings.scheduler_enabled if with_scheduler is None else with_scheduler):
        return None

    def run_slot(integration_id: int, scheduled_for: datetime) -> Any:
        return holder["app"].run_slot(integration_id, scheduled_for)

    return JobScheduler(run_slot)
