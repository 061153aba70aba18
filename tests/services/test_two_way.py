"""Two-way sync against the sandbox: local edits pushed with setData, new local rows created and bound, no echo,
conflicts settled by policy and recorded, refused pushes kept with the ERP's message."""

from __future__ import annotations

from typing import Any

from app_fixtures import customer_integration
from sqlalchemy import text
from tests_support import erp_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox


def two_way(sandbox: RunningSandbox, **changes: Any) -> dict[str, Any]:
    mappings = [
        {"source": "CUSTOMER.TRDR", "target": "erp_id", "type": "integer", "readOnly": True},
        {"source": "CUSTOMER.CODE", "target": "code"},
        {"source": "CUSTOMER.NAME", "target": "name"},
        {"source": "CUSTOMER.EMAIL", "target": "email"},
        {"source": "CUSTOMER.CITY", "target": "city"},
        {"source": "CUSTOMER.UPDDATE", "target": "erp_updated_at", "type": "datetime"},
    ]
    body = customer_integration(sandbox.url, name="two-way", direction="two_way", mappings=mappings, keys=["code"],
                                target={"table": "customers_2w", "createIfMissing": True},
                                options={"referenceField": "CUSTOMER.CODE1"})
    body.update(changes)
    return body


def local(erp: ErpSync, code: str) -> dict[str, Any]:
    with erp.engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM customers_2w WHERE code = :c"), {"c": code}).mappings().one())


def edit_local(erp: ErpSync, code: str, **values: Any) -> None:
    assignments = ", ".join(f"{column} = :{column}" for column in values)
    with erp.engine.begin() as conn:
        conn.execute(text(f"UPDATE customers_2w SET {assignments} WHERE code = :code"),
                     {**values, "code": code})


def first_customer(sandbox: RunningSandbox, index: int = 0) -> dict[str, str]:
    return erp_rows(sandbox)[sorted(erp_rows(sandbox))[index]]


def test_the_imports_own_writes_are_never_pushed_back(erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way(sandbox)).id
    first = erp.runner.run(integration, "api")
    second = erp.runner.run(integration, "api", full=True)
    assert first.status == second.status == "succeeded"
    assert first.stats.pushed == second.stats.pushed == 0
    assert sandbox.app.state.setdata_requests() == []


def test_a_local_edit_is_pushed_and_not_echoed_on_the_next_run(erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way(sandbox)).id
    erp.runner.run(integration, "api")
    customer = first_customer(sandbox)
    edit_local(erp, customer["CODE"], name="Διορθωμένο Όνομα Α.Ε.")
    pushed = erp.runner.run(integration, "api")
    assert pushed.status == "succeeded", pushed.error_message
    assert pushed.stats.pushed == 1
    assert sandbox.app.state.row("CUSTOMER", int(customer["TRDR"]))["NAME"] == "Διορθωμένο Όνομα Α.Ε."
    sent = sandbox.app.state.setdata_requests()
    assert len(sent) == 1
    assert "UPDDATE" not in str(sent[0]) and "TRDR" not in str(sent[0].get("data", ""))
    quiet = erp.runner.run(integration, "api")
    assert quiet.stats.pushed == 0
    assert len(sandbox.app.state.setdata_requests()) == 1


def test_a_new_local_row_is_created_in_the_erp_and_bound_to_its_id(erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way(sandbox)).id
    erp.runner.run(integration, "api")
    with erp.engine.begin() as conn:
        conn.execute(text("INSERT INTO customers_2w (code, name, email, city) VALUES "
                          "('LOCAL-1', 'Τοπικός Πελάτης', 'local@example.gr', 'Πάτρα')"))
    outcome = erp.runner.run(integration, "api")
    assert outcome.status == "succeeded", outcome.error_message
    assert outcome.details["push"]["created"] == 1
    created = [r for r in erp_rows(sandbox).values() if r["CODE"] == "LOCAL-1"]
    assert len(created) == 1 and created[0]["NAME"] == "Τοπικός Πελάτης"
    assert created[0]["CODE1"].startswith("erp-sync:")
    with erp.engine.connect() as conn:
        bound = conn.execute(text("SELECT erp_key FROM erp_sync_bindings WHERE local_key = 'LOCAL-1'")).scalar_one()
    assert bound == created[0]["TRDR"]
    again = erp.runner.run(integration, "api")
    assert again.stats.pushed == 0
    assert local(erp, "LOCAL-1")["erp_id"] == int(created[0]["TRDR"])
    assert len([r for r in erp_rows(sandbox).values() if r["CODE"] == "LOCAL-1"]) == 1


def test_with_erp_wins_a_conflict_keeps_the_erp_values_and_records_the_local_ones(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way(sandbox)).id
    erp.runner.run(integration, "api")
    customer = first_customer(sandbox)
    edit_local(erp, customer["CODE"], name="Τοπική αλλαγή")
    sandbox.app.state.patch_row("CUSTOMER", int(customer["TRDR"]), {"NAME": "Αλλαγή στο ERP"})
    outcome = erp.runner.run(integration, "api")
    assert outcome.status == "succeeded", outcome.error_message
    assert outcome.stats.conflicts == 1 and outcome.stats.pushed == 0
    assert local(erp, customer["CODE"])["name"] == "Αλλαγή στο ERP"
    with erp.engine.connect() as conn:
        conflict = conn.execute(text("SELECT resolution, local_values, erp_values FROM erp_sync_conflicts")).one()
    assert conflict.resolution == "erp_won"
    assert "Τοπική αλλαγή" in str(conflict.local_values)
    assert sandbox.app.state.setdata_requests() == []


def test_with_local_wins_a_conflict_pushes_the_local_values(erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way(sandbox, conflictPolicy="local_wins")).id
    erp.runner.run(integration, "api")
    customer = first_customer(sandbox)
    edit_local(erp, customer["CODE"], name="Τοπική αλλαγή")
    sandbox.app.state.patch_row("CUSTOMER", int(customer["TRDR"]), {"NAME": "Αλλαγή στο ERP"})
    outcome = erp.runner.run(integration, "api")
    assert outcome.stats.conflicts == 1 and outcome.stats.pushed == 1
    assert local(erp, customer["CODE"])["name"] == "Τοπική αλλαγή"
    assert sandbox.app.state.row("CUSTOMER", int(customer["TRDR"]))["NAME"] == "Τοπική αλλαγή"


def test_a_refused_push_keeps_its_pending_state_and_the_erp_message_and_is_retried(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way(sandbox)).id
    erp.runner.run(integration, "api")
    customer = first_customer(sandbox, 3)
    sandbox.app.state.set_faults({"setdata_business_error": {"keys": [customer["TRDR"]]}})
    edit_local(erp, customer["CODE"], city="Ηράκλειο")
    refused = erp.runner.run(integration, "api")
    assert refused.status == "succeeded_with_errors"
    assert refused.details["push"]["failed"] == 1
    with erp.engine.connect() as conn:
        state, error = conn.execute(text("SELECT push_state, push_error FROM erp_sync_bindings WHERE erp_key = :k"),
                                    {"k": customer["TRDR"]}).one()
        row_error = conn.execute(text("SELECT code, reason FROM erp_sync_row_errors")).one()
    assert state == "pending" and "S1:ESoftOneError" in error
    assert row_error.code == "PUSH_REJECTED" and "S1:ESoftOneError" in row_error.reason
    assert local(erp, customer["CODE"])["city"] == "Ηράκλειο"
    sandbox.app.state.set_faults({"clear": True})
    retried = erp.runner.run(integration, "api")
    assert retried.status == "succeeded" and retried.stats.pushed == 1
    assert sandbox.app.state.row("CUSTOMER", int(customer["TRDR"]))["CITY"] == "Ηράκλειο"


def test_dry_run_counts_local_changes_without_pushing(erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(two_way(sandbox)).id
    erp.runner.run(integration, "api")
    edit_local(erp, first_customer(sandbox)["CODE"], city="Χανιά")
    dry = erp.runner.run(integration, "api", dry_run=True)
    assert dry.details["dryRun"]["wouldPush"] == 1
    assert sandbox.app.state.setdata_requests() == []
