"""A record the ERP deleted keeps a tombstone binding: its local row is never pushed back to the ERP as a new
record, is not deleted again by every scan and does not count as bound for the delete guard; the ERP record coming
back (same key) imports it again, and clearing a soft-deleted row's column on purpose creates it in the ERP anew.
Real sandbox over HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from app_fixtures import customer_integration
from sqlalchemy import text
from test_two_way import edit_local, first_customer, local, two_way
from tests_support import erp_rows, table_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox
from erp_sync.services.sync import RunOutcome


def binding_of(erp: ErpSync, local_key: str) -> list[dict[str, Any]]:
    with erp.engine.connect() as conn:
        rows = conn.execute(text("SELECT erp_key, erp_deleted_at, source_hash FROM erp_sync_bindings "
                                 "WHERE local_key = :k"), {"k": local_key}).mappings().all()
    return [dict(row) for row in rows]


def codes_in_erp(sandbox: RunningSandbox, code: str) -> list[str]:
    return [row["TRDR"] for row in erp_rows(sandbox).values() if row["CODE"] == code]


SOFT = {"deletePolicy": "soft_delete", "softDeleteColumn": "deleted_at"}


def deleted_in_the_erp(erp: ErpSync, sandbox: RunningSandbox,
                       **policy: str) -> tuple[int, dict[str, str], RunOutcome]:
    """A synced two-way integration, one of whose customers the ERP then deletes, and the full run after it."""
    integration = erp.integrations.create(two_way(sandbox, **policy)).id
    erp.runner.run(integration, "api")
    gone = first_customer(sandbox, 5)
    sandbox.app.state.delete_row("CUSTOMER", int(gone["TRDR"]))
    return integration, gone, erp.runner.run(integration, "api", full=True)


def test_a_record_deleted_in_the_erp_is_soft_deleted_and_never_pushed_back(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration, gone, deleting = deleted_in_the_erp(erp, sandbox, **SOFT)
    assert deleting.status == "succeeded", deleting.error_message
    assert deleting.stats.deleted == 1
    assert (deleting.details["push"]["pushed"], deleting.details["push"]["created"]) == (0, 0)
    assert local(erp, gone["CODE"])["deleted_at"] is not None
    assert codes_in_erp(sandbox, gone["CODE"]) == []
    (binding,) = binding_of(erp, gone["CODE"])
    assert binding["erp_key"] == gone["TRDR"] and binding["erp_deleted_at"] is not None
    later = erp.runner.run(integration, "api", full=True)
    assert later.status == "succeeded", later.error_message
    assert (later.stats.deleted, later.stats.pushed, later.stats.errors) == (0, 0, 0)
    assert sandbox.app.state.setdata_requests() == []


def test_clearing_the_soft_delete_column_creates_the_row_in_the_erp_anew_and_moves_its_binding(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration, gone, _ = deleted_in_the_erp(erp, sandbox, **SOFT)
    edit_local(erp, gone["CODE"], deleted_at=None)
    revived = erp.runner.run(integration, "api", full=True)
    assert revived.status == "succeeded", revived.error_message
    assert (revived.details["push"]["pushed"], revived.details["push"]["created"]) == (1, 1)
    (new_id,) = codes_in_erp(sandbox, gone["CODE"])
    assert new_id != gone["TRDR"]
    assert binding_of(erp, gone["CODE"]) == [{"erp_key": new_id, "erp_deleted_at": None, "source_hash": None}]
    settled = erp.runner.run(integration, "api", full=True)
    assert (settled.status, settled.stats.pushed, settled.stats.deleted) == ("succeeded", 0, 0)
    assert local(erp, gone["CODE"])["erp_id"] == int(new_id)
    assert codes_in_erp(sandbox, gone["CODE"]) == [new_id]


def test_after_a_hard_delete_a_local_row_with_that_key_is_never_created_in_the_erp(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration, gone, deleting = deleted_in_the_erp(erp, sandbox, deletePolicy="hard_delete")
    assert (deleting.status, deleting.stats.deleted, deleting.stats.pushed) == ("succeeded", 1, 0)
    with erp.engine.begin() as conn:
        conn.execute(text("INSERT INTO customers_2w (code, name) VALUES (:c, 'ξανά εδώ')"), {"c": gone["CODE"]})
    again = erp.runner.run(integration, "api", full=True)
    assert again.status == "succeeded", again.error_message
    assert (again.stats.pushed, again.stats.deleted, again.stats.errors) == (0, 0, 0)
    assert sandbox.app.state.setdata_requests() == [] and codes_in_erp(sandbox, gone["CODE"]) == []
    (binding,) = binding_of(erp, gone["CODE"])
    assert binding["erp_key"] == gone["TRDR"] and binding["erp_deleted_at"] is not None


def active_only(sandbox: RunningSandbox, policy: str) -> dict[str, Any]:
    extra = {"softDeleteColumn": "deleted_at"} if policy == "soft_delete" else {}
    return customer_integration(sandbox.url, deletePolicy=policy, **extra, source={
        "object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 100, "filters": "CUSTOMER.ISACTIVE=1"})


@pytest.mark.parametrize("policy", ["soft_delete", "hard_delete"])
def test_a_record_that_comes_back_in_the_erp_is_imported_again_and_loses_its_tombstone(
        erp: ErpSync, sandbox: RunningSandbox, policy: str) -> None:
    integration = erp.integrations.create(active_only(sandbox, policy)).id
    erp.runner.run(integration, "api")
    key = sorted(table_rows(erp))[3]
    before = sandbox.app.state.row("CUSTOMER", key)
    assert before is not None
    sandbox.app.state.patch_row("CUSTOMER", key, {"ISACTIVE": "0"})  # out of the filtered view: deleted for us
    assert erp.runner.run(integration, "api", full=True).stats.deleted == 1
    assert binding_of(erp, str(key))[0]["erp_deleted_at"] is not None  # the local key is erp_id here
    sandbox.app.state.patch_row("CUSTOMER", key, {"ISACTIVE": "1", "UPDDATE": before["UPDDATE"]})  # its old text
    back = erp.runner.run(integration, "api", full=True)
    assert back.status == "succeeded", back.error_message
    assert (back.stats.inserted, back.stats.updated, back.stats.deleted) == (1, 0, 0)
    row = table_rows(erp)[key]
    assert row["code"] == before["CODE"] and row["deleted_at"] is None
    (binding,) = binding_of(erp, str(key))
    assert binding["erp_key"] == str(key) and binding["erp_deleted_at"] is None
    assert erp.runner.run(integration, "api", full=True).stats.unchanged == back.stats.fetched


def test_tombstones_are_neither_deleted_again_nor_counted_as_bound_by_the_delete_guard(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    spec = customer_integration(sandbox.url, deletePolicy="soft_delete", softDeleteColumn="deleted_at")
    integration = erp.integrations.create(spec).id
    erp.runner.run(integration, "api")
    keys = sorted(erp_rows(sandbox))
    for key in keys[:45]:  # 18% of 250
        sandbox.app.state.delete_row("CUSTOMER", key)
    first = erp.runner.run(integration, "api", full=True)
    assert (first.status, first.stats.deleted) == ("succeeded", 45)
    stamps = {key: row["deleted_at"] for key, row in table_rows(erp).items() if row["deleted_at"] is not None}
    quiet = erp.runner.run(integration, "api", full=True)
    assert (quiet.status, quiet.stats.deleted) == ("succeeded", 0)
    assert {key: row["deleted_at"] for key, row in table_rows(erp).items() if row["deleted_at"]} == stamps
    for key in keys[45:87]:  # 42 more: 16.8% of all 250 bindings, but 20.5% of the 205 live ones
        sandbox.app.state.delete_row("CUSTOMER", key)
    guarded = erp.runner.run(integration, "api", full=True)
    assert (guarded.status, guarded.error_code) == ("failed", "DELETE_GUARD")
    assert guarded.details == {"missing": 42, "bound": 205}
