"""A run's counts are the same everywhere: the run row (and so `GET /api/runs/{id}`), the `sync.completed` log
event, the RunOutcome and the CLI summary, including what happens after the last page (deletes, pushes, refused
pushes). Real sandbox over HTTP, SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import API_TOKEN, CRON_SECRET, SECRET_KEY, admin, customer_integration
from test_two_way import edit_local, first_customer, two_way
from tests_support import erp_rows

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox
from erp_sync.services.sync import RunOutcome
from erp_sync.web.app import create_app

COUNTED = ("pages", "fetched", "inserted", "updated", "unchanged", "deleted", "pushed", "conflicts", "errors")


def api_counts(erp: ErpSync, run_id: int | None) -> dict[str, int]:
    answer = create_app(erp).test_client().get(f"/api/runs/{run_id}", headers=admin())
    assert answer.status_code == 200, answer.get_json()
    return dict(answer.get_json()["data"]["counts"])


def logged_counts(caplog: pytest.LogCaptureFixture, run_id: int | None) -> dict[str, int]:
    (event,) = [r.__dict__ for r in caplog.records if r.getMessage() == "sync.completed" and r.run_id == run_id]
    return {name: event[name] for name in COUNTED}


def assert_counted_alike(erp: ErpSync, caplog: pytest.LogCaptureFixture, outcome: RunOutcome) -> dict[str, int]:
    counts = outcome.stats.as_dict()
    assert api_counts(erp, outcome.run_id) == counts
    assert logged_counts(caplog, outcome.run_id) == counts
    return counts


def test_soft_deletes_after_the_last_page_are_in_the_stored_counts(
        erp: ErpSync, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="erp_sync.services.sync")
    spec = customer_integration(sandbox.url, deletePolicy="soft_delete", softDeleteColumn="deleted_at")
    integration = erp.integrations.create(spec).id
    erp.runner.run(integration, "api")
    for key in sorted(erp_rows(sandbox))[:10]:
        sandbox.app.state.delete_row("CUSTOMER", key)
    outcome = erp.runner.run(integration, "api", full=True)
    assert outcome.status == "succeeded", outcome.error_message
    counts = assert_counted_alike(erp, caplog, outcome)
    assert (counts["deleted"], counts["fetched"], counts["unchanged"]) == (10, 240, 240)


def test_pushes_and_refused_pushes_after_the_last_page_are_in_the_stored_counts(
        erp: ErpSync, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="erp_sync.services.sync")
    integration = erp.integrations.create(two_way(sandbox)).id
    erp.runner.run(integration, "api")
    refused = first_customer(sandbox, 0)
    sandbox.app.state.set_faults({"setdata_business_error": {"keys": [refused["TRDR"]]}})
    for index in range(4):
        edit_local(erp, first_customer(sandbox, index)["CODE"], city=f"Πόλη {index}")
    outcome = erp.runner.run(integration, "api")
    assert outcome.status == "succeeded_with_errors", outcome.error_message
    assert (outcome.details["push"]["pushed"], outcome.details["push"]["failed"]) == (3, 1)
    counts = assert_counted_alike(erp, caplog, outcome)
    assert (counts["pushed"], counts["errors"]) == (3, 1)


def test_the_cli_summary_gives_the_stored_counts(erp: ErpSync, sandbox: RunningSandbox, database_url: str,
                                                 tmp_path: Path) -> None:
    spec = customer_integration(sandbox.url, deletePolicy="hard_delete")
    integration = erp.integrations.create(spec).id
    erp.runner.run(integration, "api")
    for key in sorted(erp_rows(sandbox))[:7]:
        sandbox.app.state.delete_row("CUSTOMER", key)
    env = {"ERP_SYNC_DATABASE_URL": database_url, "ERP_SYNC_INSTANCE_DIR": str(tmp_path / "instance"),
           "ERP_SYNC_API_TOKEN": API_TOKEN, "CRON_SECRET": CRON_SECRET, "ERP_SYNC_SECRET_KEYS": SECRET_KEY,
           "ERP_SYNC_SANDBOX": "off", "ERP_SYNC_SCHEDULER": "off", "PATH": str(Path(sys.executable).parent)}
    done = subprocess.run([sys.executable, "-m", "erp_sync.cli", "run", str(integration), "--full"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    summary = re.search(r"run (\d+): succeeded in [\d.]+s: (.*)$", done.stdout, re.MULTILINE)
    assert summary is not None, done.stdout
    said: dict[str, Any] = {name: int(number) for number, name in re.findall(r"(\d+) (\w+)", summary.group(2))}
    stored = api_counts(erp, int(summary.group(1)))
    assert said == {"pages": stored["pages"], "read": stored["fetched"],
                    **{name: stored[name] for name in COUNTED[2:]}}
    assert stored["deleted"] == 7


def test_a_run_that_fails_while_pushing_keeps_the_count_of_what_it_pushed(
        erp: ErpSync, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="erp_sync.services.sync")
    integration = erp.integrations.create(two_way(sandbox)).id
    erp.runner.run(integration, "api")
    for index in range(4):
        edit_local(erp, first_customer(sandbox, index)["CODE"], city=f"Πόλη {index}")
    sandbox.app.state.set_faults({"fail_on_call": {"n": 3, "service": "setData", "errorcode": 11, "times": 0}})
    outcome = erp.runner.run(integration, "api")
    assert (outcome.status, outcome.error_code) == ("failed", "ERP_ERROR")
    counts = assert_counted_alike(erp, caplog, outcome)
    assert counts["pushed"] == 2
