"""Source hashes: a re-sync recognises an unchanged ERP row by the hash of its text before mapping it, and never
lets that shortcut hide a change (of the row, of the mapping, or of a row pushed from here). Real sandbox over
HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

from app_fixtures import customer_integration
from sqlalchemy import text
from tests_support import erp_rows, table_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox


def _source_hashes(erp: ErpSync, integration_id: int) -> dict[str, str | None]:
    with erp.engine.connect() as conn:
        rows = conn.execute(text("SELECT erp_key, source_hash FROM erp_sync_bindings WHERE integration_id = :i"),
                            {"i": integration_id}).all()
    return dict(rows)  # type: ignore[arg-type]


def test_a_resync_skips_rows_by_their_source_hash_without_mapping_or_writing_them(erp: ErpSync,
                                                                                    integration_id: int) -> None:
    erp.runner.run(integration_id, "api")
    stored = _source_hashes(erp, integration_id)
    assert len(stored) == 250 and all(len(h or "") == 64 for h in stored.values())
    with erp.engine.begin() as conn:  # a value hash that no mapping produces: only the source hash can match
        conn.execute(text("UPDATE erp_sync_bindings SET row_hash = 'not-a-value-hash' WHERE erp_key = '1'"))
    again = erp.runner.run(integration_id, "api", full=True)
    assert (again.stats.unchanged, again.stats.inserted, again.stats.updated) == (250, 0, 0)
    with erp.engine.connect() as conn:
        kept = conn.execute(text("SELECT row_hash FROM erp_sync_bindings WHERE erp_key = '1'")).scalar_one()
    assert kept == "not-a-value-hash"
    assert _source_hashes(erp, integration_id) == stored


def test_bindings_without_a_source_hash_are_mapped_once_rewrite_nothing_and_get_one(erp: ErpSync,
                                                                                     integration_id: int) -> None:
    erp.runner.run(integration_id, "api")
    before = table_rows(erp)
    with erp.engine.begin() as conn:  # as after the upgrade to migration 0002
        conn.execute(text("UPDATE erp_sync_bindings SET source_hash = NULL"))
        conn.execute(text("UPDATE customers SET city = 'untouched by the import' WHERE erp_id = 2"))
    outcome = erp.runner.run(integration_id, "api", full=True)
    assert (outcome.stats.unchanged, outcome.stats.updated) == (250, 0)
    assert table_rows(erp)[2]["city"] == "untouched by the import"  # unchanged rows are not rewritten
    assert all(_source_hashes(erp, integration_id).values())
    assert {k: v for k, v in table_rows(erp).items() if k != 2} == {k: v for k, v in before.items() if k != 2}


def test_a_changed_erp_row_and_a_changed_mapping_are_both_seen(erp: ErpSync, sandbox: RunningSandbox,
                                                                integration_id: int) -> None:
    erp.runner.run(integration_id, "api")
    sandbox.app.state.patch_row("CUSTOMER", 5, {"NAME": "Αλλαγμένο όνομα"})
    changed_row = erp.runner.run(integration_id, "api", full=True)
    assert (changed_row.stats.updated, changed_row.stats.unchanged) == (1, 249)
    assert table_rows(erp)[5]["name"] == "Αλλαγμένο όνομα"

    mappings = customer_integration()["mappings"]
    mappings[2] = {"source": "CUSTOMER.NAME", "target": "name", "default": "(no name)"}
    mappings[5] = {"source": "CUSTOMER.CODE", "target": "city"}
    erp.integrations.update(integration_id, {"mappings": mappings})
    remapped = erp.runner.run(integration_id, "api", full=True)
    assert (remapped.stats.updated, remapped.stats.unchanged) == (250, 0)
    local, remote = table_rows(erp), erp_rows(sandbox)
    assert all(local[key]["city"] == row["CODE"] for key, row in remote.items())


def test_a_row_that_no_longer_maps_is_an_error_but_not_a_deletion(erp: ErpSync, sandbox: RunningSandbox) -> None:
    mappings = customer_integration()["mappings"]
    mappings[3] = {"source": "CUSTOMER.AFM", "target": "vat_number", "type": "integer"}
    spec = customer_integration(sandbox.url, mappings=mappings, deletePolicy="hard_delete",
                                options={"maxErrorShare": 1.0})
    integration = erp.integrations.create(spec).id
    assert erp.runner.run(integration, "api").stats.inserted == 250
    sandbox.app.state.patch_row("CUSTOMER", 9, {"AFM": "not-a-number"})
    outcome = erp.runner.run(integration, "api", full=True)
    assert outcome.status == "succeeded_with_errors"
    assert (outcome.stats.errors, outcome.stats.deleted, outcome.stats.unchanged) == (1, 0, 249)
    assert 9 in table_rows(erp) and len(table_rows(erp)) == 250


def test_pages_over_the_bulk_threshold_load_and_then_resync_unchanged(erp: ErpSync, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(customer_integration(
        sandbox.url, source={"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 250})).id
    first = erp.runner.run(integration, "api")
    assert (first.stats.pages, first.stats.inserted) == (1, 250)
    assert set(table_rows(erp)) == set(erp_rows(sandbox))
    again = erp.runner.run(integration, "api", full=True)
    assert (again.stats.unchanged, again.stats.inserted, again.stats.updated) == (250, 0, 0)
