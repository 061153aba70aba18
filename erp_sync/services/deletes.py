"""Deletes after a complete scan: bound records the ERP no longer has follow the integration's deletePolicy.

A guard refuses to delete more than `options.maxDeleteShare` of the bound rows in one run (DELETE_GUARD): a
truncated ERP answer must never empty a table. Nothing is deleted when the guard trips. A deleted record's binding
stays as a tombstone (`bindings.tombstone`), so two-way sync never pushes its local row back as a new record.
"""

from __future__ import annotations

from datetime import datetime
from itertools import islice

from erp_sync.db import bindings
from erp_sync.db.runs import renew_lease
from erp_sync.domain import run as rules
from erp_sync.errors import ErpSyncError
from erp_sync.services.run.context import RunContext, RunProgress

BATCH = 500
SCAN_BATCH = 5000  # bound keys checked against the seen ones at a time


def reconcile_deletes(ctx: RunContext, progress: RunProgress) -> None:
    """Apply the delete policy to bound records not seen in this complete scan, counting each committed batch
    into `progress.stats.deleted` (a dry run counts what it would delete). Each batch renews the lease with its
    own `now`: a long delete phase keeps its lease, and a run whose lease was taken over deletes nothing more."""
    gone, stats = _gone(ctx, progress), progress.stats
    if ctx.dry_run:
        stats.deleted += len(gone)
        return
    for start in range(0, len(gone), BATCH):
        batch = gone[start:start + BATCH]
        _delete_batch(ctx, batch, ctx.clock.now())
        stats.deleted += len(batch)


def _gone(ctx: RunContext, progress: RunProgress) -> list[tuple[str, str]]:
    """(ERP key, local key) of the live bindings this scan did not see; DELETE_GUARD when too many. Tombstones are
    neither deleted again nor counted as bound."""
    share = ctx.spec.options.max_delete_share
    gone_keys: list[str] = []  # collected while the guard allows them: an empty answer holds no memory
    missing = 0
    with ctx.engine.connect() as conn:
        bound = bindings.count(conn, ctx.integration_id, live_only=True)
        erp_keys = bindings.iter_erp_keys(conn, ctx.integration_id, live_only=True)
        while batch := list(islice(erp_keys, SCAN_BATCH)):
            unseen = progress.seen.missing(batch)
            missing += len(unseen)
            if not rules.delete_share_exceeded(missing, bound, share):
                gone_keys.extend(unseen)
        if not missing:
            return []
        if rules.delete_share_exceeded(missing, bound, share):
            raise ErpSyncError(
                f"{missing} of {bound} bound rows are missing from the ERP's answer, more than the {share:.0%} "
                "allowed; nothing was deleted. If the ERP really lost them, raise options.maxDeleteShare for one run",
                code="DELETE_GUARD", details={"missing": missing, "bound": bound})
        local_keys = bindings.local_keys_for(conn, ctx.integration_id, gone_keys)
    return [(erp_key, local_keys[erp_key]) for erp_key in gone_keys if erp_key in local_keys]


def _delete_batch(ctx: RunContext, gone: list[tuple[str, str]], now: datetime) -> None:
    """Delete or soft-delete the local rows and keep their bindings as tombstones, in one transaction."""
    keys = [ctx.plan.key_from_text(local_key) for _, local_key in gone]
    with ctx.engine.begin() as conn:
        if ctx.spec.delete_policy == "hard_delete":
            ctx.upserter.delete_keys(conn, keys)
        else:
            ctx.upserter.soft_delete_keys(conn, keys, ctx.spec.soft_delete_column or "", now)
        bindings.tombstone(conn, ctx.integration_id, [erp_key for erp_key, _ in gone], now)
        renew_lease(conn, ctx.lease, now, ctx.lease_ttl)
