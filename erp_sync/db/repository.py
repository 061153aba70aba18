"""Integrations in the database: create, read, update, delete, and the spec they hold.

The stored form is the validated `IntegrationSpec` spread over columns; the ERP password is encrypted with the
injected `Cipher` and only decrypted when a spec is loaded for a run or a connection test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, sessionmaker

from erp_sync.clock import Clock
from erp_sync.db.encryption import Cipher
from erp_sync.db.models import Binding, Integration, NotificationState
from erp_sync.domain.integration import IntegrationSpec, parse_spec
from erp_sync.domain.notifications import notifications_out
from erp_sync.errors import ConflictError, NotFoundError


@dataclass(frozen=True)
class IntegrationRecord:
    """An integration as stored: its spec plus what the service keeps about it."""

    id: int
    spec: IntegrationSpec
    created_at: datetime
    updated_at: datetime
    last_sync_at: datetime | None
    last_status: str | None
    last_run_id: int | None
    watermark: str | None
    lease_run_id: int | None
    activated_at: datetime | None = None  # when it last became active; a scheduled slot before it was never missed
    paused_reason: str | None = None  # why erp-sync itself deactivated it (options.pauseAfterFailures)
    last_notification: dict[str, Any] | None = None  # the outcome of its latest notification delivery


def _last_notification(row: Integration) -> dict[str, Any] | None:
    session = object_session(row)
    state = session.get(NotificationState, row.id) if session is not None else None
    if state is None or state.event is None:
        return None
    return {"event": state.event, "target": state.target, "ok": state.ok, "attempts": state.attempts,
            "error": state.error, "at": state.delivered_at}


class IntegrationRepository:
    def __init__(self, session_factory: sessionmaker[Session], cipher: Cipher, clock: Clock) -> None:
        self._sessions = session_factory
        self._cipher = cipher
        self._clock = clock

    def _record(self, row: Integration) -> IntegrationRecord:
        connection = dict(row.connection)
        if row.password_encrypted:
            connection["password"] = self._cipher.decrypt(row.password_encrypted)
        data: dict[str, Any] = {
            "name": row.name, "connector": row.connector, "connection": connection, "source": row.source,
            "target": {"table": row.target_table, "schema": row.target_schema,
                       "createIfMissing": row.create_if_missing},
            "mappings": row.mappings, "keys": row.keys,
            "schedule": {"cronExpression": row.cron_expression, "timezone": row.timezone},
            "isActive": row.is_active, "direction": row.direction, "conflictPolicy": row.conflict_policy,
            "deletePolicy": row.delete_policy, "softDeleteColumn": row.soft_delete_column,
            "options": row.options or {},
            "notifications": json.loads(self._cipher.decrypt(row.notifications_encrypted))
            if row.notifications_encrypted else [],
        }
        return IntegrationRecord(
            id=row.id, spec=parse_spec(data), created_at=row.created_at, updated_at=row.updated_at,
            last_sync_at=row.last_sync_at, last_status=row.last_status, last_run_id=row.last_run_id,
            watermark=row.watermark, lease_run_id=row.lease_run_id, activated_at=row.activated_at,
            paused_reason=row.paused_reason, last_notification=_last_notification(row),
        )

    def _fill(self, row: Integration, spec: IntegrationSpec, keep_password: str | None) -> None:
        stored = spec.public_dict()
        connection = stored["connection"]
        connection.pop("hasPassword", None)
        password = spec.password
        row.name = spec.name
        row.connector = spec.connector
        row.connection = connection
        row.password_encrypted = self._cipher.encrypt(password) if password is not None else keep_password
        row.source = stored["source"]
        row.target_table = spec.target.table
        row.target_schema = spec.target.schema_
        row.create_if_missing = spec.target.create_if_missing
        row.mappings = stored["mappings"]
        row.keys = list(spec.keys)
        row.cron_expression = spec.schedule.cron_expression
        row.timezone = spec.schedule.timezone
        if spec.is_active and not row.is_active:
            row.activated_at = self._clock.now()
        row.is_active = spec.is_active
        row.direction = spec.direction
        row.conflict_policy = spec.conflict_policy
        row.delete_policy = spec.delete_policy
        row.soft_delete_column = spec.soft_delete_column
        row.options = stored["options"]
        notifications = notifications_out(spec.notifications, reveal=True)  # URLs carry secrets: encrypted
        row.notifications_encrypted = self._cipher.encrypt(json.dumps(notifications)) if notifications else None
        if spec.is_active:
            row.paused_reason = None
        row.updated_at = self._clock.now()

    def _commit(self, session: Session, name: str) -> None:
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            raise ConflictError(f"an integration named {name!r} exists already; choose another name",
                                code="DUPLICATE_NAME", field="name") from None

    def create(self, spec: IntegrationSpec) -> IntegrationRecord:
        with self._sessions() as session:
            if session.scalar(select(Integration.id).where(Integration.name == spec.name)) is not None:
                raise ConflictError(f"an integration named {spec.name!r} exists already; choose another name",
                                    code="DUPLICATE_NAME", field="name")
            row = Integration(created_at=self._clock.now(), lease_token=0)
            self._fill(row, spec, keep_password=None)
            session.add(row)
            self._commit(session, spec.name)
            return self._record(row)

    def _row(self, session: Session, integration_id: int) -> Integration:
        row = session.get(Integration, integration_id)
        if row is None:
            raise NotFoundError(f"integration {integration_id} does not exist", field="id")
        return row

    def get(self, integration_id: int) -> IntegrationRecord:
        with self._sessions() as session:
            return self._record(self._row(session, integration_id))

    def list(self, *, active_only: bool = False) -> list[IntegrationRecord]:
        with self._sessions() as session:
            query = select(Integration).order_by(Integration.id)
            if active_only:
                query = query.where(Integration.is_active.is_(True))
            return [self._record(row) for row in session.scalars(query)]

    def update(self, integration_id: int, change: Callable[[IntegrationSpec], IntegrationSpec]) -> IntegrationRecord:
        """Load, apply `change` to the spec, validate and save; the stored password stays unless replaced.

        `change` runs outside the write transaction (it may reflect the target table), and the save refuses to
        overwrite a row someone else updated in between.
        """
        current = self.get(integration_id)
        spec = change(current.spec)
        with self._sessions() as session:
            row = self._row(session, integration_id)
            if row.updated_at != current.updated_at:
                raise ConflictError(f"integration {integration_id} was changed by someone else meanwhile; "
                                    "read it again and repeat the change", code="CONFLICT")
            if spec.name != row.name and session.scalar(
                select(Integration.id).where(Integration.name == spec.name, Integration.id != row.id)
            ) is not None:
                raise ConflictError(f"an integration named {spec.name!r} exists already; choose another name",
                                    code="DUPLICATE_NAME", field="name")
            self._fill(row, spec, keep_password=row.password_encrypted)
            self._commit(session, spec.name)
            return self._record(row)

    def delete(self, integration_id: int) -> None:
        """Delete an integration, its runs and its bindings. The integration row goes first: a run still writing
        then waits for this transaction and fails to renew its lease, or has committed before and its bindings
        are deleted here (bindings have no foreign key, see `Binding`)."""
        with self._sessions() as session:
            session.delete(self._row(session, integration_id))
            session.flush()
            session.execute(delete(Binding).where(Binding.integration_id == integration_id))
            session.commit()

    def rotate_keys(self) -> int:
        """Re-encrypt every stored password with the first key; returns how many were rotated."""
        with self._sessions() as session:
            rows = list(session.scalars(select(Integration).where(Integration.password_encrypted.is_not(None))))
            for row in rows:
                row.password_encrypted = self._cipher.rotate(row.password_encrypted or "")
            session.commit()
            return len(rows)
