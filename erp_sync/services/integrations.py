"""Integration use cases: create, read, update, delete, schedule preview.

Every change is validated against the domain rules (the admission rules included: `check_admission`) and the
real target table (which must exist, in a schema that exists, unless createIfMissing), saved, and then announced to
the scheduler (a `ScheduleListener`), so the running scheduler follows the database without a restart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Engine

from erp_sync.clock import Clock
from erp_sync.db.repository import IntegrationRecord, IntegrationRepository
from erp_sync.db.target import TargetTable
from erp_sync.domain import schedule
from erp_sync.domain.integration import IntegrationSpec, check_admission, merge_patch, parse_spec
from erp_sync.errors import ValidationError


class ScheduleListener(Protocol):
    def integration_changed(self, integration_id: int, spec: IntegrationSpec | None) -> None:
        """Called after an integration was saved (spec) or deleted (None)."""
        ...


class NoScheduler:
    """The listener of a web-only replica: another process runs the scheduler and polls the database."""

    def integration_changed(self, integration_id: int, spec: IntegrationSpec | None) -> None:
        return None


@dataclass(frozen=True)
class SchedulePreview:
    cron_expression: str
    timezone: str
    description: str
    next_runs: list[datetime]


class IntegrationService:
    def __init__(self, repository: IntegrationRepository, target_engine: Engine, listener: ScheduleListener,
                 clock: Clock, source_check: Callable[[IntegrationSpec], None] | None = None) -> None:
        self._repo = repository
        self._target_engine = target_engine
        self._listener = listener
        self._clock = clock
        self._source_check = source_check  # asks the ERP side about the source (a SOAP WSDL's record element)

    def check_target(self, spec: IntegrationSpec) -> None:
        """The target must not be erp-sync's own table or a catalog, its schema must exist, and its table must
        exist (unless createIfMissing) and hold every mapped column and a unique key."""
        try:
            table = TargetTable.reflect(self._target_engine, spec.target.table, spec.target.schema_)
        except ValidationError as exc:
            if exc.code == "UNKNOWN_TABLE" and spec.target.create_if_missing:
                return
            raise
        table.check_columns([m.target for m in spec.mappings], field_prefix="mappings")
        table.check_unique_key(list(spec.keys))
        if spec.soft_delete_column:
            table.require_column(spec.soft_delete_column, "softDeleteColumn")
        if spec.options.modified_column:
            table.require_column(spec.options.modified_column, "options.modifiedColumn")

    def create(self, data: Any) -> IntegrationRecord:
        spec = parse_spec(data)
        self._admit(spec)
        record = self._repo.create(spec)
        self._listener.integration_changed(record.id, record.spec)
        return record

    def update(self, integration_id: int, patch: Any) -> IntegrationRecord:
        def change(current: IntegrationSpec) -> IntegrationSpec:
            spec = merge_patch(current, patch)
            self._admit(spec)
            return spec

        record = self._repo.update(integration_id, change)
        self._listener.integration_changed(record.id, record.spec)
        return record

    def _admit(self, spec: IntegrationSpec) -> None:
        check_admission(spec)
        self.check_target(spec)
        if self._source_check is not None:
            self._source_check(spec)

    def set_active(self, integration_id: int, active: bool) -> IntegrationRecord:
        return self.update(integration_id, {"isActive": active})

    def delete(self, integration_id: int) -> None:
        self._repo.delete(integration_id)
        self._listener.integration_changed(integration_id, None)

    def get(self, integration_id: int) -> IntegrationRecord:
        return self._repo.get(integration_id)

    def list(self, *, active_only: bool = False) -> list[IntegrationRecord]:
        return self._repo.list(active_only=active_only)

    def schedule_preview(self, integration_id: int, count: int) -> SchedulePreview:
        if not 1 <= count <= 100:
            raise ValidationError("count must be between 1 and 100", field="count")
        spec = self._repo.get(integration_id).spec
        return self.preview_schedule(spec.schedule.cron_expression, spec.schedule.timezone, count)

    def preview_schedule(self, cron: str, timezone: str, count: int) -> SchedulePreview:
        """The next `count` fire times of a schedule not saved yet (the editor's preview), computed exactly as a
        saved integration's; INVALID_CRON / UNKNOWN_TIMEZONE name schedule.cronExpression / schedule.timezone."""
        if not 1 <= count <= 100:
            raise ValidationError("count must be between 1 and 100", field="count")
        schedule.validate(cron, timezone)
        return SchedulePreview(cron, timezone, schedule.describe(cron),
                               schedule.preview(cron, timezone, self._clock.now(), count))
