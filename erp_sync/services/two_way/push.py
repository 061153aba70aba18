"""Two-way sync: local changes found by binding hashes, mapped back to ERP fields, pushed, and marked.

A local row whose hash differs from its binding's was edited locally; a local row without a binding is new and
is created in the ERP, then bound to the id the ERP returns. Rows the import wrote carry the import's hash, so
they are never echoed back. A binding is marked synced only after the ERP accepted the change; a refused push
keeps its pending state and the ERP's message, and is tried again next run. Rows marked soft-deleted are never
pushed, nor are rows whose ERP record was deleted (a tombstone binding), unless a soft-deleted row's mark was
cleared on purpose: then it is created in the ERP as a new record, which takes the tombstone's place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from erp_sync.connectors.base import ErpConnector, PushRequest, PushResult
from erp_sync.db import bindings, versions
from erp_sync.db.findings import RowError, record_row_errors
from erp_sync.db.runs import check_lease, renew_lease
from erp_sync.domain.mapping import field_part, same_field
from erp_sync.services.run.context import RunContext


@dataclass
class PushReport:
    pushed: int = 0
    created: int = 0
    failed: int = 0
    refused: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"pushed": self.pushed, "created": self.created, "failed": self.failed,
                "refused": self.refused[:20]}


BATCH = 500


def _reference(integration_id: int, local_key: str) -> str:
    return "erp-sync:" + hashlib.sha256(f"{integration_id}:{local_key}".encode()).hexdigest()[:20]


class LocalChange(NamedTuple):
    """A local row to push: to its ERP record, or (erp_key None) as a new one."""

    erp_key: str | None
    local_key: str
    values: tuple[Any, ...]
    row_hash: str
    replaces: str | None = None  # the tombstone of a deleted ERP record whose binding the new record takes over


def _local_changes(ctx: RunContext) -> list[LocalChange]:
    """Every local row that needs pushing; rows marked soft-deleted are never read."""
    changes: list[LocalChange] = []
    plan = ctx.plan
    with ctx.engine.connect() as conn:
        batch: list[tuple[str, tuple[Any, ...], str]] = []
        for row in ctx.upserter.iter_rows(conn, BATCH, unless_marked=ctx.spec.soft_delete_column):
            values = plan.local_values_from_row(row)
            batch.append((plan.key_text(plan.key_of(values)), values, plan.hash_values(values)))
            if len(batch) >= BATCH:
                changes.extend(_changed(ctx, conn, batch))
                batch = []
        changes.extend(_changed(ctx, conn, batch))
    return changes


def _changed(ctx: RunContext, conn: Any, batch: list[tuple[str, tuple[Any, ...], str]]) -> list[LocalChange]:
    """The rows of `batch` that differ from their bindings or have none. A row whose ERP record was deleted (a
    tombstone) is pushed as a new record only under soft_delete, where clearing its soft-delete column says so;
    after a hard delete a local row with that key is never created in the ERP."""
    bound = bindings.find_by_local_key(conn, ctx.integration_id, [local_key for local_key, _, _ in batch])
    revive = ctx.spec.delete_policy == "soft_delete"
    changes: list[LocalChange] = []
    for local_key, values, row_hash in batch:
        binding = bound.get(local_key)
        if binding is None:
            changes.append(LocalChange(None, local_key, values, row_hash))
        elif binding.erp_deleted_at is not None:
            if revive:
                changes.append(LocalChange(None, local_key, values, row_hash, replaces=binding.erp_key))
        elif binding.row_hash != row_hash:
            changes.append(LocalChange(binding.erp_key, local_key, values, row_hash))
    return changes


def _pushed_columns(ctx: RunContext) -> list[str]:
    """Columns that go back to the ERP: all but read-only mappings and the cursor (the ERP stamps it itself)."""
    cursor = ctx.spec.source.cursor_field
    return [m.target for m in ctx.spec.mappings
            if not m.read_only and not (cursor and same_field(m.source, cursor))]


def push_local_changes(ctx: RunContext, connector: ErpConnector, report: PushReport | None = None) -> PushReport:
    """Push every local change; `report` (returned) counts them as they go, so a failure midway keeps the count.
    The lease is checked before each push (a run whose lease was taken over sends the ERP nothing more) and
    renewed again where the push's outcome is recorded, each time with a fresh `now`."""
    report = report if report is not None else PushReport()
    pushed = _pushed_columns(ctx)
    for change in _local_changes(ctx):
        if ctx.dry_run:
            report.pushed += 1
            continue
        check_lease(ctx.engine, ctx.lease, ctx.clock.now(), ctx.lease_ttl)
        result = connector.push(_request(ctx, change, pushed))
        now = ctx.clock.now()
        with ctx.engine.begin() as conn:
            renew_lease(conn, ctx.lease, now, ctx.lease_ttl)  # also proves the integration still exists (`Binding`)
            if result.accepted:
                _accepted(ctx, conn, change, result, report, now)
            else:
                _refused(ctx, conn, change, result, report, now)
    return report


def _request(ctx: RunContext, change: LocalChange, pushed: list[str]) -> PushRequest:
    spec = ctx.spec
    push_object = spec.source.push_object or spec.source.object
    local = dict(zip(ctx.plan.columns, change.values, strict=True))
    erp_values = ctx.plan.to_erp({column: local[column] for column in pushed})
    reference = None
    reference_field = spec.options.reference_field
    if change.erp_key is None and reference_field:
        reference = (reference_field, _reference(ctx.integration_id, change.local_key))
        erp_values[field_part(reference_field)] = reference[1]
    return PushRequest(object=push_object, table=spec.source.push_table or push_object, values=erp_values,
                       record_id=change.erp_key, reference=reference)


def _accepted(ctx: RunContext, conn: Any, change: LocalChange, result: PushResult, report: PushReport,
              now: datetime) -> None:
    report.pushed += 1
    if change.erp_key is None and not result.existing:
        report.created += 1
    if change.replaces is not None:
        bindings.delete(conn, ctx.integration_id, [change.replaces])
    erp_key = result.record_id or change.erp_key or change.local_key
    bindings.upsert(conn, ctx.integration_id, [(erp_key, change.local_key, change.row_hash, None)],
                    now)  # the ERP row is new text
    if result.record_id and result.version:  # the version the ERP answered with (NAV's Key)
        versions.store(conn, ctx.integration_id, [(result.record_id, result.version)])


def _refused(ctx: RunContext, conn: Any, change: LocalChange, result: PushResult, report: PushReport,
             now: datetime) -> None:
    report.failed += 1
    report.refused.append({"localKey": change.local_key, "message": result.message})
    if change.erp_key is not None:
        bindings.mark_failed(conn, ctx.integration_id, change.erp_key, result.message or "refused")
    reason = f"the ERP refused the local change to {change.local_key}: {result.message}"
    record_row_errors(conn, ctx.integration_id, ctx.run_id, [RowError("PUSH_REJECTED", reason, change.erp_key)], now)
