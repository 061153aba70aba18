"""SyncRunner against the SoftOne sandbox over real HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import customer_integration
from sqlalchemy import text
from tests_support import erp_rows, run_row, table_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.errors import ErpSyncError
from erp_sync.sandbox import RunningSandbox
from erp_sync.services import deletes, seen_keys


def test_first_run_loads_every_erp_row_with_greek_text_intact(erp: ErpSync, sandbox: RunningSandbox,
                                                               integration_id: int) -> None:
    outcome = erp.runner.run(integration_id, "api")
    assert outcome.status == "succeeded", outcome.error_message
    local, remote = table_rows(erp), erp_rows(sandbox)
    assert set(local) == set(remote)
    for key, row in remote.items():
        assert local[key]["code"] == row["CODE"]
        assert local[key]["name"] == row["NAME"]
    assert any(any("\u0370" <= ch <= "\u03ff" for ch in r["name"] or "") for r in local.values())
    run = run_row(erp, outcome.run_id)
    assert run["status"] == "succeeded"
    assert run["fetched"] == run["inserted"] == len(remote)
    assert run["pages"] == 3  # 250 rows in pages of 100
    assert run["watermark_after"] is not None
    record = erp.integrations.get(integration_id)
    assert record.last_status == "succeeded" and record.last_run_id == outcome.run_id
    assert record.watermark == run["watermark_after"]


def test_a_full_resync_with_nothing_changed_rewrites_nothing(erp: ErpSync, integration_id: int) -> None:
    erp.runner.run(integration_id, "api")
    again = erp.runner.run(integration_id, "api", full=True)
    assert again.status == "succeeded"
    assert (again.stats.inserted, again.stats.updated) == (0, 0)
    assert again.stats.unchanged == again.stats.fetched == 250


def test_incremental_run_reads_only_changed_rows_and_moves_the_watermark(erp: ErpSync, sandbox: RunningSandbox,
                                                                         integration_id: int) -> None:
    first = erp.runner.run(integration_id, "api")
    state = sandbox.app.state
    keys = sorted(erp_rows(sandbox))[:3]
    for key in keys:
        state.patch_row("CUSTOMER", key, {"NAME": f"Νέο όνομα {key}"})
    second = erp.runner.run(integration_id, "api")
    assert second.status == "succeeded"
    assert second.stats.fetched < 250
    assert second.stats.updated == 3
    local = table_rows(erp)
    assert [local[k]["name"] for k in keys] == [f"Νέο όνομα {k}" for k in keys]
    before = run_row(erp, first.run_id)["watermark_after"]
    after = run_row(erp, second.run_id)["watermark_after"]
    assert after > before


def test_rows_that_cannot_be_mapped_are_recorded_and_the_run_goes_on(erp: ErpSync, sandbox: RunningSandbox) -> None:
    mappings = customer_integration()["mappings"]
    mappings[3] = {"source": "CUSTOMER.AFM", "target": "vat_number", "type": "integer"}
    spec = customer_integration(sandbox.url, mappings=mappings,
                                options={"maxErrorShare": 1.0})
    integration = erp.integrations.create(spec).id
    first_afm = next(iter(erp_rows(sandbox).values()))
    sandbox.app.state.patch_row("CUSTOMER", int(first_afm["TRDR"]), {"AFM": "not-a-number"})
    outcome = erp.runner.run(integration, "api")
    assert outcome.status == "succeeded_with_errors"
    assert outcome.stats.errors >= 1
    with erp.engine.connect() as conn:
        errors = conn.execute(text("SELECT erp_key, field, reason FROM erp_sync_row_errors")).all()
    assert any(e.erp_key == first_afm["TRDR"] and "not-a-number" in e.reason for e in errors)
    assert len(table_rows(erp)) == 250 - outcome.stats.errors


def test_too_many_bad_rows_fail_the_run(erp: ErpSync, sandbox: RunningSandbox) -> None:
    mappings = customer_integration()["mappings"]
    mappings[2] = {"source": "CUSTOMER.NAME", "target": "name", "type": "integer"}
    integration = erp.integrations.create(customer_integration(sandbox.url, mappings=mappings)).id
    outcome = erp.runner.run(integration, "api")
    assert outcome.status == "failed"
    assert outcome.error_code == "TOO_MANY_ROW_ERRORS"
    assert f"integration {integration}" in (outcome.error_message or "")
    assert erp.integrations.get(integration).watermark is None


def test_dry_run_writes_nothing_and_says_what_it_would_do(erp: ErpSync, integration_id: int) -> None:
    outcome = erp.runner.run(integration_id, "api", dry_run=True)
    assert outcome.status == "succeeded"
    assert outcome.details["dryRun"]["wouldInsert"] == 250
    assert table_rows(erp) == {}
    assert erp.integrations.get(integration_id).watermark is None


def test_deleted_erp_rows_are_soft_deleted_after_a_complete_scan(erp: ErpSync, sandbox: RunningSandbox) -> None:
    spec = customer_integration(sandbox.url, deletePolicy="soft_delete", softDeleteColumn="deleted_at")
    integration = erp.integrations.create(spec).id
    erp.runner.run(integration, "api")
    gone = sorted(erp_rows(sandbox))[:2]
    for key in gone:
        sandbox.app.state.delete_row("CUSTOMER", key)
    outcome = erp.runner.run(integration, "api", full=True)
    assert outcome.status == "succeeded" and outcome.stats.deleted == 2
    local = table_rows(erp)
    assert all(local[k]["deleted_at"] is not None for k in gone)
    assert sum(1 for r in local.values() if r["deleted_at"] is not None) == 2


def test_deletes_come_out_the_same_when_the_seen_keys_spill_to_disk(
        erp: ErpSync, sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seen_keys, "IN_MEMORY_KEYS", 150)  # the sandbox has 250 customers, pages of 100
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(seen_keys.tempfile, "tempdir", str(scratch))
    spec = customer_integration(sandbox.url, deletePolicy="hard_delete")
    integration = erp.integrations.create(spec).id
    erp.runner.run(integration, "api")
    gone = sorted(erp_rows(sandbox))[7:10] + sorted(erp_rows(sandbox))[-2:]
    for key in gone:
        sandbox.app.state.delete_row("CUSTOMER", key)
    on_disk = []
    outcome = erp.runner.run(integration, "api", full=True,
                             progress=lambda _stats: on_disk.append(len(list(scratch.glob("erp-sync-seen-*")))))
    assert outcome.status == "succeeded" and outcome.stats.deleted == 5
    assert on_disk == [0, 1, 1]  # spilled while the second page was read
    assert list(scratch.iterdir()) == []  # and removed when the run ended
    local = table_rows(erp)
    assert len(local) == 245 and not set(gone) & set(local)


def test_the_delete_guard_refuses_to_empty_a_table(erp: ErpSync, sandbox: RunningSandbox,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deletes, "SCAN_BATCH", 20)  # the bindings walk in 13 batches: the count spans them all
    spec = customer_integration(sandbox.url, deletePolicy="hard_delete")
    integration = erp.integrations.create(spec).id
    erp.runner.run(integration, "api")
    for key in sorted(erp_rows(sandbox))[:100]:
        sandbox.app.state.delete_row("CUSTOMER", key)
    outcome = erp.runner.run(integration, "api", full=True)
    assert outcome.status == "failed" and outcome.error_code == "DELETE_GUARD"
    assert "100 of 250 bound rows are missing" in (outcome.error_message or "")
    assert outcome.details == {"missing": 100, "bound": 250}
    assert len(table_rows(erp)) == 250


def test_a_target_without_a_unique_key_is_refused_by_name(erp: ErpSync, sandbox: RunningSandbox) -> None:
    with erp.engine.begin() as conn:
        conn.execute(text("CREATE TABLE loose (erp_id BIGINT, code VARCHAR(25))"))
    spec = customer_integration(sandbox.url, target={"table": "loose"},
                                mappings=[{"source": "CUSTOMER.TRDR", "target": "erp_id", "type": "integer"},
                                          {"source": "CUSTOMER.CODE", "target": "code"}])
    with pytest.raises(ErpSyncError) as caught:
        erp.integrations.create(spec)
    assert caught.value.code == "UNIQUE_KEY_MISSING"
    assert "erp_id" in caught.value.message


def test_create_if_missing_builds_the_table_with_its_unique_key(erp: ErpSync, sandbox: RunningSandbox) -> None:
    spec = customer_integration(sandbox.url, target={"table": "fresh_customers", "createIfMissing": True})
    integration = erp.integrations.create(spec).id
    assert erp.runner.run(integration, "api").status == "succeeded"
    assert len(table_rows(erp, "fresh_customers")) == 250
    assert erp.runner.run(integration, "api", full=True).stats.unchanged == 250


def test_an_expired_session_mid_run_logs_in_once_more_and_finishes(erp: ErpSync, sandbox: RunningSandbox,
                                                                   integration_id: int) -> None:
    sandbox.app.state.configure({"session_max_calls": 3})
    outcome = erp.runner.run(integration_id, "api")
    assert outcome.status == "succeeded", outcome.error_message
    assert len(table_rows(erp)) == 250
    assert sandbox.app.state.stats_view()["logins"] == 2


def test_an_erp_failing_mid_paging_fails_the_run_keeps_committed_pages_and_the_next_run_completes(
        erp: ErpSync, sandbox: RunningSandbox, integration_id: int) -> None:
    sandbox.app.state.set_faults({"http_500_on_call": {"n": 1, "service": "getBrowserData", "start": 200,
                                                       "times": 0}})
    failed = erp.runner.run(integration_id, "api")
    assert failed.status == "failed"
    assert failed.error_code == "ERP_UNAVAILABLE"
    assert "page" in (failed.error_message or "")
    assert len(table_rows(erp)) == 200
    assert erp.integrations.get(integration_id).watermark is None
    sandbox.app.state.set_faults({"clear": True})
    again = erp.runner.run(integration_id, "api")
    assert again.status == "succeeded"
    assert set(table_rows(erp)) == set(erp_rows(sandbox))


def test_a_database_error_mid_page_rolls_the_whole_page_back(erp: ErpSync, sandbox: RunningSandbox) -> None:
    with erp.engine.begin() as conn:
        conn.execute(text("CREATE TABLE checked (erp_id BIGINT PRIMARY KEY, code VARCHAR(25) NOT NULL "
                          "CHECK (code <> 'BOOM'))"))
    spec = customer_integration(sandbox.url, target={"table": "checked"},
                                mappings=[{"source": "CUSTOMER.TRDR", "target": "erp_id", "type": "integer"},
                                          {"source": "CUSTOMER.CODE", "target": "code"}])
    integration = erp.integrations.create(spec).id
    victim = sorted(erp_rows(sandbox))[150]
    sandbox.app.state.patch_row("CUSTOMER", victim, {"CODE": "BOOM"})
    outcome = erp.runner.run(integration, "api")
    assert outcome.status == "failed"
    assert outcome.error_code == "DATABASE_ERROR"
    message = outcome.error_message or ""
    assert "page 2" in message and "check constraint" in message.lower()
    assert "next run reads from the same watermark" in message
    assert len(table_rows(erp, "checked")) == 100
    assert run_row(erp, outcome.run_id)["inserted"] == 100
    with erp.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM erp_sync_bindings")).scalar_one() == 100


def test_a_second_trigger_while_a_run_holds_the_lease_gets_sync_in_progress(erp: ErpSync,
                                                                            integration_id: int) -> None:
    prepared = erp.runner.prepare(integration_id, "api")
    assert prepared is not None
    second = erp.runner.run(integration_id, "api")
    assert second.status == "skipped"
    assert second.error_code == "SYNC_IN_PROGRESS"
    assert second.details["runId"] == prepared.run_id
    assert erp.runner.execute(prepared).status == "succeeded"
    assert erp.runner.run(integration_id, "api").status == "succeeded"


def test_a_scheduled_slot_runs_once_however_often_it_fires(erp: ErpSync, integration_id: int) -> None:
    slot = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    first = erp.runner.run(integration_id, "schedule", scheduled_for=slot)
    second = erp.runner.run(integration_id, "schedule", scheduled_for=slot)
    assert first.status == "succeeded"
    assert second.status == "skipped" and second.run_id is None
    with erp.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM erp_sync_runs")).scalar_one() == 1


def test_a_run_whose_lease_expired_is_swept_as_abandoned(erp: ErpSync, integration_id: int) -> None:
    prepared = erp.runner.prepare(integration_id, "api")
    assert prepared is not None
    with erp.engine.begin() as conn:
        conn.execute(text("UPDATE erp_sync_integrations SET lease_expires_at = :past"),
                     {"past": datetime(2000, 1, 1)})
    report = erp.startup.init(catch_up=False)
    assert report.abandoned_runs == [prepared.run_id]
    assert run_row(erp, prepared.run_id)["status"] == "abandoned"
    late = erp.runner.execute(prepared)
    assert late.status == "failed" and late.error_code == "LEASE_LOST"
    assert erp.runner.run(integration_id, "api").status == "succeeded"


def test_every_run_logs_one_sync_completed_event_with_its_counts(erp: ErpSync, integration_id: int,
                                                                  caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="erp_sync.services.sync")
    outcome = erp.runner.run(integration_id, "cli")
    events = [r for r in caplog.records if r.getMessage() == "sync.completed"]
    assert len(events) == 1
    event = events[0].__dict__
    assert (event["integration_id"], event["run_id"], event["status"]) == (integration_id, outcome.run_id,
                                                                           "succeeded")
    assert event["fetched"] == event["inserted"] == 250 and event["trigger"] == "cli"
    assert all(str(v) != "demo" for k, v in event.items() if k.startswith("pass"))
    pages = [r for r in caplog.records if r.getMessage() == "sync.page"]
    assert len(pages) == 3 and all(r.__dict__["run_id"] == outcome.run_id for r in pages)
