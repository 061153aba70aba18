"""The one invariant every process-fault cell ends with (tests/proving/test_process_faults.py).

After the fault and a converging run: the target holds exactly the ERP's rows (erp_id, code, name), none doubled;
each target row has one live binding and each record the ERP deleted one tombstone; the integration's lease is
free; every run of the integration is in a final state.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from tests_support import erp_rows

from erp_sync.domain.run import RunStatus

FINAL_STATUSES = {RunStatus.SUCCEEDED, RunStatus.SUCCEEDED_WITH_ERRORS, RunStatus.FAILED, RunStatus.SKIPPED,
                  RunStatus.ABANDONED}


def invariant_breaches(erp: Any, sandbox: Any, integration: int, table: str = "customers",
                       tombstones: int = 0) -> list[str]:
    """What of the invariant does not hold, in words; [] when all of it does."""
    with erp.engine.connect() as conn:
        local = conn.execute(text(f"SELECT erp_id, code, name FROM {table}")).all()
        live, dead, distinct = conn.execute(text(
            "SELECT sum(CASE WHEN erp_deleted_at IS NULL THEN 1 ELSE 0 END), "
            "sum(CASE WHEN erp_deleted_at IS NULL THEN 0 ELSE 1 END), count(DISTINCT local_key) "
            "FROM erp_sync_bindings WHERE integration_id = :i"), {"i": integration}).one()
        holder = conn.execute(text("SELECT lease_owner FROM erp_sync_integrations WHERE id = :i"),
                              {"i": integration}).scalar_one()
        open_runs = conn.execute(text("SELECT id, status FROM erp_sync_runs WHERE integration_id = :i"),
                                 {"i": integration}).all()
    remote = {key: (row["CODE"], row["NAME"]) for key, row in erp_rows(sandbox).items()}
    breaches = []
    if len(local) != len({row.erp_id for row in local}):
        breaches.append("a row is doubled in the target")
    if {int(row.erp_id): (row.code, row.name) for row in local} != remote:
        breaches.append("the target differs from the ERP's rows")
    if (int(live or 0), int(dead or 0), distinct) != (len(local), tombstones, len(local) + tombstones):
        breaches.append(f"bindings: {live} live, {dead} tombstones for {len(local)} rows")
    if holder is not None:
        breaches.append(f"the lease is still held by {holder}")
    breaches += [f"run {run.id} is left {run.status}" for run in open_runs if run.status not in FINAL_STATUSES]
    return breaches
