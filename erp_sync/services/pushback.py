"""Two-way sync: local changes found by binding hashes, mapped back to ERP fields, pushed, and marked.

A local row whose hash differs from its binding's was edited locally; a local row without a binding is new and
is created in the ERP, then bound to the id the ERP returns. Rows the import wrote carry the import's hash, so
they are never echoed back. A binding is marked synced only after the ERP accepted the change; a refused push
keeps its pending state and the ERP's message, and is tried again next run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from erp_sync.connectors.base import ErpConnector, PushRequest
from erp_sync.db import bindings, versions
from erp_sync.db.models import ROW_ERRORS
from erp_sync.db.runs import renew_lease

if TYPE_CHECKING:
    from erp_sync.services.page_loader import PageContext


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


def _local_changes(ctx: PageContext) -> list[tuple[str | None, str, tuple[Any, ...], str]]:
    """(erp_key or None for new rows, local_key, values, local hash) of every local row that needs pushing."""
    changes: list[tuple[str | None, str, tuple[Any, ...], str]] = []
    plan = ctx.plan
    with ctx.engine.connect() as conn:
        batch: list[tuple[str, tuple[Any, ...], str]] = []
        for row in ctx.upserter.iter_rows(conn, BATCH):
            values = plan.local_values_from_row(row)
            batch.append((plan.key_text(plan.key_of(values)), values, plan.hash_values(values)))
            if len(batch) >= BATCH:
                changes.extend(_changed(conn, ctx.integration_id, batch))
                batch = []
        changes.extend(_changed(conn, ctx.integration_id, batch))
    return changes


def _changed(conn: Any, integration_id: int, batch: list[tuple[str, tuple[Any, ...], str]]
             ) -> list[tuple[str | None, str, tuple[Any, ...], str]]:
    bound = bindings.find_by_local_key(conn, integration_id, [local_key for local_key, _, _ in batch])
    changes: list[tuple[str | None, str, tuple[Any, ...], str]] = []
    for local_key, values, row_hash in batch:
        binding = bound.get(local_key)
        if binding is None:
            changes.append((None, local_key, values, row_hash))
        elif binding.row_hash != row_hash:
            changes.append((binding.erp_key, local_key, values, row_hash))
    return changes


def _pushed_columns(ctx: PageContext) -> list[str]:
    """Columns that go back to the ERP: all but read-only mappings and the cursor (the ERP stamps it itself)."""
    cursor = (ctx.spec.source.cursor_field or "").lower().rsplit(".", 1)[-1]
    return [m.target for m in ctx.spec.mappings
            if not m.read_only and m.source.lower().rsplit(".", 1)[-1] != cursor]


def push_local_changes(ctx: PageContext, connector: ErpConnector, now: datetime) -> PushReport:
    report = PushReport()
    spec = ctx.spec
    pushed = _pushed_columns(ctx)
    push_object = spec.source.push_object or spec.source.object
    push_table = spec.source.push_table or push_object
    reference_field = spec.options.reference_field
    for erp_key, local_key, values, row_hash in _local_changes(ctx):
        if ctx.dry_run:
            report.pushed += 1
            continue
        local = dict(zip(ctx.plan.columns, values, strict=True))
        erp_values = ctx.plan.to_erp({column: local[column] for column in pushed})
        reference = None
        if erp_key is None and reference_field:
            reference = (reference_field, _reference(ctx.integration_id, local_key))
            erp_values[reference_field.rsplit(".", 1)[-1]] = reference[1]
        result = connector.push(PushRequest(object=push_object, table=push_table, values=erp_values,
                                            record_id=erp_key, reference=reference))
        with ctx.engine.begin() as conn:
            renew_lease(conn, ctx.lease, now, ctx.lease_ttl)  # also proves the integration still exists (`Binding`)
            if result.accepted:
                report.pushed += 1
                if erp_key is None and not result.existing:
                    report.created += 1
                bindings.upsert(conn, ctx.integration_id, [(result.record_id or erp_key or local_key, local_key,
                                                            row_hash, None)], now)  # the ERP row is new text
                if result.record_id and result.version:  # the version the ERP answered with (NAV's Key)
                    versions.store(conn, ctx.integration_id, [(result.record_id, result.version)])
            else:
                report.failed += 1
                report.refused.append({"localKey": local_key, "message": result.message})
                if erp_key is not None:
                    bindings.mark_failed(conn, ctx.integration_id, erp_key, result.message or "refused")
                conn.execute(insert(ROW_ERRORS).values(
                    integration_id=ctx.integration_id, run_id=ctx.run_id, erp_key=erp_key, field=None,
                    code="PUSH_REJECTED", created_at=now,
                    reason=f"the ERP refused the local change to {local_key}: {result.message}"))
    return report
