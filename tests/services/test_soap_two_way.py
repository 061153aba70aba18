"""Two-way sync of a NAV page service through the runner, against the SOAP sandbox over HTTP, on SQLite and
PostgreSQL: the table converges on the ERP after changes, inserts and deletes; local edits are pushed once with
the record's Key and not echoed; new local rows are created and bound to the No and Key NAV returns; a record
edited on both sides is settled by the conflict policy and recorded, never overwritten blindly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox.soap import RunningSoapSandbox, SoapSandboxConfig, start_soap_in_thread

CUSTOMERS = 60
TABLE_DDL = """
CREATE TABLE nav_customers (
    code VARCHAR(20) NOT NULL, name VARCHAR(200), email VARCHAR(200), city VARCHAR(100), balance NUMERIC(18, 2),
    modified_on DATE, local_modified_at {ts},
    CONSTRAINT uq_nav_customers_code UNIQUE (code)
)
"""


@pytest.fixture
def nav() -> Iterator[RunningSoapSandbox]:
    with start_soap_in_thread(SoapSandboxConfig(customers=CUSTOMERS, items=5, seed=11)) as running:
        yield running


@pytest.fixture
def table(erp: ErpSync) -> str:
    stamp = "DATETIME" if erp.engine.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
    with erp.engine.begin() as conn:
        conn.execute(text(TABLE_DDL.format(ts=stamp)))
    return "nav_customers"


def integration(nav: RunningSoapSandbox, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "nav-customers", "connector": "soap", "direction": "two_way",
        "connection": {"profile": "nav_page", "wsdlUrl": nav.page_url("Customer"), "username": "demo",
                       "password": "demo", "timeoutSeconds": 10},
        "source": {"object": "Customer", "cursorField": "Last_Date_Modified", "pageSize": 25,
                   "filters": [{"field": "No", "criteria": "C*|WEB*"}]},
        "target": {"table": "nav_customers"},
        "mappings": [{"source": "No", "target": "code"}, {"source": "Name", "target": "name"},
                     {"source": "E_Mail", "target": "email"}, {"source": "City", "target": "city"},
                     {"source": "Balance_LCY", "target": "balance", "type": "decimal", "readOnly": True},
                     {"source": "Last_Date_Modified", "target": "modified_on", "type": "date"}],
        "keys": ["code"],
        "schedule": {"cronExpression": "*/5 * * * *"},
        "options": {"modifiedColumn": "local_modified_at"},
    }
    body.update(changes)
    return body


def local_rows(erp: ErpSync) -> dict[str, tuple[Any, ...]]:
    with erp.engine.connect() as conn:
        rows = conn.execute(text("SELECT code, name, email, city FROM nav_customers")).all()
    return {r.code: (r.name, r.email or "", r.city or "") for r in rows}


def erp_side(nav: RunningSoapSandbox) -> dict[str, tuple[Any, ...]]:
    return {r["No"]: (r["Name"], r["E_Mail"], r["City"]) for r in nav.app.state.rows("Customer")}


def edit_local(erp: ErpSync, code: str, **values: Any) -> None:
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with erp.engine.begin() as conn:
        conn.execute(text(f"UPDATE nav_customers SET {assignments} WHERE code = :code"), {**values, "code": code})


def binding(erp: ErpSync, erp_key: str) -> Any:
    with erp.engine.connect() as conn:
        return conn.execute(text("SELECT erp_key, local_key, erp_version, push_state FROM erp_sync_bindings "
                                 "WHERE erp_key = :k"), {"k": erp_key}).one()


def conflicts(erp: ErpSync) -> list[Any]:
    with erp.engine.connect() as conn:
        return list(conn.execute(text("SELECT erp_key, policy, resolution FROM erp_sync_conflicts")).all())


def run(erp: ErpSync, integration_id: int, **options: Any) -> Any:
    outcome = erp.runner.run(integration_id, "api", **options)
    assert outcome.status == "succeeded", (outcome.error_code, outcome.error_message, outcome.details)
    return outcome


def test_a_two_way_nav_integration_converges_on_changes_inserts_and_deletes(
        erp: ErpSync, nav: RunningSoapSandbox, table: str) -> None:
    integration_id = erp.integrations.create(integration(nav, deletePolicy="hard_delete")).id
    first = run(erp, integration_id)
    assert local_rows(erp) == erp_side(nav) and first.stats.inserted == CUSTOMERS and first.stats.pushed == 0
    assert binding(erp, "C000007").erp_version == nav.app.state.row("Customer", "C000007")["Key"]
    state = nav.app.state
    state.patch_row("Customer", "C000003", {"Name": "Αλλαγή στο NAV Α.Ε."})
    state.patch_row("Customer", "C000040", {"City": "Ξάνθη"})
    state.insert_row("Customer", {"No": "C900001", "Name": "Νέος από το NAV"})
    state.delete_row("Customer", "C000011")
    edit_local(erp, "C000020", city="Ναύπλιο")
    with erp.engine.begin() as conn:
        conn.execute(text("INSERT INTO nav_customers (code, name, email, city) VALUES "
                          "('WEB-1', 'Πελάτης από την εφαρμογή', 'web1@example.gr', 'Σπάρτη')"))
    second = run(erp, integration_id)
    writes = state.write_log()
    assert [(w["operation"], sorted(w["fields"])) for w in writes] == [
        ("Update", ["City", "Key"]), ("Create", ["City", "E_Mail", "Name", "No"])]
    assert second.stats.pushed == 2 and second.details["push"]["created"] == 1
    assert state.row("Customer", "C000020")["City"] == "Ναύπλιο"
    assert binding(erp, "WEB-1").erp_version == state.row("Customer", "WEB-1")["Key"]
    assert "C000011" in local_rows(erp)  # an incremental run does not see deletes
    run(erp, integration_id, full=True)
    assert local_rows(erp) == erp_side(nav) and "C000011" not in local_rows(erp)
    quiet = run(erp, integration_id)
    assert quiet.stats.pushed == 0 and quiet.stats.inserted == quiet.stats.updated == 0
    assert len(state.write_log()) == 2 and local_rows(erp) == erp_side(nav)


def test_with_erp_wins_a_record_edited_on_both_sides_keeps_the_erps_values_and_is_recorded(
        erp: ErpSync, nav: RunningSoapSandbox, table: str) -> None:
    integration_id = erp.integrations.create(integration(nav)).id
    run(erp, integration_id)
    edit_local(erp, "C000005", city="Τοπική αλλαγή")
    nav.app.state.patch_row("Customer", "C000005", {"City": "Αλλαγή στο NAV"})
    outcome = run(erp, integration_id)
    assert outcome.stats.conflicts == 1 and outcome.stats.pushed == 0
    assert local_rows(erp)["C000005"][2] == "Αλλαγή στο NAV" and nav.app.state.write_log() == []
    assert conflicts(erp) == [("C000005", "erp_wins", "erp_won")]


def test_with_local_wins_the_local_values_go_back_with_the_fresh_key(
        erp: ErpSync, nav: RunningSoapSandbox, table: str) -> None:
    integration_id = erp.integrations.create(integration(nav, conflictPolicy="local_wins")).id
    run(erp, integration_id)
    edit_local(erp, "C000005", city="Τοπική αλλαγή")
    nav.app.state.patch_row("Customer", "C000005", {"City": "Αλλαγή στο NAV"})
    key_before_push = nav.app.state.row("Customer", "C000005")["Key"]
    outcome = run(erp, integration_id)
    assert outcome.stats.conflicts == 1 and outcome.stats.pushed == 1
    assert nav.app.state.row("Customer", "C000005")["City"] == "Τοπική αλλαγή"
    assert [w["fields"]["Key"] for w in nav.app.state.write_log()] == [key_before_push]
    assert conflicts(erp) == [("C000005", "local_wins", "local_won")]
    assert run(erp, integration_id).stats.pushed == 0 and local_rows(erp) == erp_side(nav)


def test_a_key_gone_stale_between_read_and_push_is_settled_by_the_policy_not_overwritten(
        erp: ErpSync, nav: RunningSoapSandbox, table: str) -> None:
    erp_wins = erp.integrations.create(integration(nav)).id
    run(erp, erp_wins)
    edit_local(erp, "C000008", email="local@example.gr")
    nav.app.state.set_faults({"fault_on_call": {"operation": "Update", "kind": "record_changed", "times": 0,
                                                "message": "Another user has modified the record for this "
                                                           "Customer after you retrieved it from the database."}})
    refused = erp.runner.run(erp_wins, "api")
    assert refused.status == "succeeded_with_errors" and refused.details["push"]["failed"] == 1
    assert "Another user" in refused.details["push"]["refused"][0]["message"]
    assert binding(erp, "C000008").push_state == "pending"
    nav.app.state.set_faults({"clear": True})
    erp.integrations.update(erp_wins, {"conflictPolicy": "local_wins"})
    nav.app.state.set_faults({"fault_on_call": {"operation": "Update", "kind": "record_changed", "times": 1,
                                                "message": "Another user has modified the record"}})
    settled = run(erp, erp_wins)
    assert settled.stats.pushed == 1 and nav.app.state.row("Customer", "C000008")["E_Mail"] == "local@example.gr"
    assert conflicts(erp) == [("C000008", "local_wins", "local_won")]


def test_with_newest_wins_a_date_only_erp_change_loses_to_a_local_change_of_a_later_day(
        erp: ErpSync, nav: RunningSoapSandbox, table: str) -> None:
    integration_id = erp.integrations.create(integration(nav, conflictPolicy="newest_wins")).id
    run(erp, integration_id)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    edit_local(erp, "C000009", city="Νεότερη τοπική", local_modified_at=tomorrow)
    edit_local(erp, "C000010", city="Ίδια μέρα", local_modified_at=datetime.now(UTC))
    nav.app.state.patch_row("Customer", "C000009", {"City": "Παλαιότερη στο NAV"})
    nav.app.state.patch_row("Customer", "C000010", {"City": "Στο NAV σήμερα"})
    outcome = run(erp, integration_id)
    assert outcome.stats.conflicts == 2
    assert nav.app.state.row("Customer", "C000009")["City"] == "Νεότερη τοπική"
    assert local_rows(erp)["C000010"][2] == "Στο NAV σήμερα"
    assert sorted(conflicts(erp)) == [("C000009", "newest_wins", "local_won"), ("C000010", "newest_wins", "erp_won")]


def test_an_object_the_wsdl_lacks_is_refused_at_create_with_unknown_object(
        erp: ErpSync, nav: RunningSoapSandbox, table: str) -> None:
    from erp_sync.errors import ErpSyncError

    with pytest.raises(ErpSyncError) as caught:
        erp.integrations.create(integration(nav, source={"object": "Vendor"}))
    assert caught.value.code == "UNKNOWN_OBJECT" and caught.value.field == "source.object"
    assert erp.integrations.list() == []


def test_the_connection_test_lists_operations_and_the_records_fields_with_xsd_types(
        erp: ErpSync, nav: RunningSoapSandbox) -> None:
    body = {"connector": "soap", "object": "Customer",
            "connection": {"profile": "nav_page", "wsdlUrl": nav.page_url("Customer"), "username": "demo",
                           "password": "demo"}}
    answer = erp.discovery.test_connection(body)
    operations = {o["name"] for o in answer["objects"] if o["kind"] == "operation"}
    fields = {f["name"]: f["xsdType"] for f in answer["fields"]}
    assert {"ReadMultiple", "Create", "Update"} <= operations
    assert fields["Last_Date_Modified"] == "date" and fields["Balance_LCY"] == "decimal"
    with pytest.raises(Exception) as caught:
        erp.discovery.test_connection({**body, "object": "Vendor"})
    assert getattr(caught.value, "code", None) == "UNKNOWN_OBJECT"


def test_a_generic_profile_naming_navs_operations_itself_syncs_and_pushes_the_same(
        erp: ErpSync, nav: RunningSoapSandbox, table: str) -> None:
    generic = {"profile": "generic", "wsdlUrl": nav.page_url("Customer"), "username": "demo", "password": "demo",
               "readOperation": "ReadMultiple", "filterParameter": "filter", "pageSizeParameter": "setSize",
               "bookmarkParameter": "bookmarkKey", "keyElement": "No", "recordKeyElement": "Key",
               "createOperation": "Create", "updateOperation": "Update"}
    integration_id = erp.integrations.create(integration(nav, connection=generic)).id
    run(erp, integration_id)
    assert local_rows(erp) == erp_side(nav)
    edit_local(erp, "C000002", name="Γενικό προφίλ Ο.Ε.")
    assert run(erp, integration_id).stats.pushed == 1
    assert nav.app.state.row("Customer", "C000002")["Name"] == "Γενικό προφίλ Ο.Ε."
    assert [sorted(w["fields"]) for w in nav.app.state.write_log()] == [["Key", "Name"]]
