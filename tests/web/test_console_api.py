"""The API the console reads: a run's row errors and conflicts (paged), and the preview of a schedule not saved yet,
which answers exactly what a saved integration's preview answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from app_fixtures import admin, customer_integration
from flask.testing import FlaskClient
from sqlalchemy import insert

from erp_sync.bootstrap import ErpSync
from erp_sync.db.models import CONFLICTS
from erp_sync.sandbox import RunningSandbox


def failed_run(erp: ErpSync, sandbox: RunningSandbox) -> int:
    """A real run whose every row fails to map: a name is no whole number."""
    body = customer_integration(sandbox.url)
    body["mappings"][2] = {"source": "CUSTOMER.NAME", "target": "name", "type": "integer"}
    integration = erp.integrations.create(body).id
    outcome = erp.runner.run(integration, "api")
    assert outcome.error_code == "TOO_MANY_ROW_ERRORS"
    assert outcome.run_id is not None
    return outcome.run_id


def test_a_runs_row_errors_are_listed_a_page_at_a_time_with_field_and_reason(
        erp: ErpSync, sandbox: RunningSandbox, client: FlaskClient) -> None:
    run_id = failed_run(erp, sandbox)
    first = client.get(f"/api/runs/{run_id}/errors?limit=5", headers=admin()).get_json()["data"]
    rest = client.get(f"/api/runs/{run_id}/errors?limit=500&offset=5", headers=admin()).get_json()["data"]
    assert first["total"] == rest["total"] == 20 and (first["limit"], first["offset"]) == (5, 0)
    assert len(first["items"]) == 5 and len(rest["items"]) == 15
    keys = [item["erpKey"] for item in first["items"] + rest["items"]]
    assert len(set(keys)) == 20
    error = first["items"][0]
    assert error["runId"] == run_id and error["code"] == "ROW_MAPPING_FAILED" and error["page"] == 1
    assert error["field"] == "name" and error["reason"]  # the mapped column that could not be filled


def test_a_runs_conflicts_are_listed_with_both_sides_values(erp: ErpSync, sandbox: RunningSandbox,
                                                            client: FlaskClient) -> None:
    run_id = failed_run(erp, sandbox)
    integration = erp.monitoring.run(run_id)["integration_id"]
    with erp.engine.begin() as conn:
        conn.execute(insert(CONFLICTS), [
            {"integration_id": integration, "run_id": run_id, "erp_key": str(key), "local_key": f"[{key}]",
             "policy": "erp_wins", "resolution": "erp", "local_values": {"name": "Τοπικό"},
             "erp_values": {"name": "ERP"}, "created_at": datetime(2026, 12, 5, tzinfo=UTC)}
            for key in range(1, 4)])
    page = client.get(f"/api/runs/{run_id}/conflicts?limit=2&offset=1", headers=admin())
    data = page.get_json()["data"]
    assert data["total"] == 3 and [c["erpKey"] for c in data["items"]] == ["2", "3"]
    assert data["items"][0]["localValues"] == {"name": "Τοπικό"} and data["items"][0]["policy"] == "erp_wins"
    assert "Τοπικό" in page.get_data(as_text=True)  # non-Latin text as it is, not \u-escaped


@pytest.mark.parametrize("kind", ["errors", "conflicts"])
def test_the_findings_of_a_run_that_does_not_exist_are_not_found_and_a_bad_page_is_refused(
        client: FlaskClient, kind: str) -> None:
    missing = client.get(f"/api/runs/999/{kind}", headers=admin())
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "NOT_FOUND"
    bad = client.get(f"/api/runs/999/{kind}?limit=0", headers=admin())
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "limit"
    assert client.get(f"/api/runs/999/{kind}").status_code == 401


def test_previewing_an_unsaved_schedule_answers_what_the_saved_integrations_preview_answers(
        client: FlaskClient) -> None:
    schedule = {"cronExpression": "30 3 * * 1-5", "timezone": "Europe/Athens"}
    created = client.post("/api/integrations", json=customer_integration(schedule=schedule), headers=admin())
    saved = client.get(f"/api/integrations/{created.get_json()['data']['id']}/schedule?count=7", headers=admin())
    unsaved = client.post("/api/schedule/preview", json={**schedule, "count": 7}, headers=admin())
    assert unsaved.status_code == 200
    assert unsaved.get_json()["data"] == saved.get_json()["data"]
    assert unsaved.get_json()["data"]["description"] == "At 03:30, Monday through Friday"


@pytest.mark.parametrize(("body", "code", "field"), [
    ({"cronExpression": "61 * * * *", "timezone": "UTC"}, "INVALID_CRON", "schedule.cronExpression"),
    ({"cronExpression": "0 * * * *", "timezone": "Mars/Olympus"}, "UNKNOWN_TIMEZONE", "schedule.timezone"),
    ({"timezone": "UTC"}, "VALIDATION_ERROR", "cronExpression"),
    ({"cronExpression": "0 * * * *", "count": 101}, "VALIDATION_ERROR", "count"),
    ({"cronExpression": "0 * * * *", "count": "5"}, "VALIDATION_ERROR", "count"),
    (["0 * * * *"], "VALIDATION_ERROR", None),
])
def test_previewing_a_schedule_that_cannot_run_is_refused_naming_the_field(
        client: FlaskClient, body: object, code: str, field: str | None) -> None:
    response = client.post("/api/schedule/preview", json=body, headers=admin())
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["code"] == code and error.get("field") == field


@pytest.mark.parametrize("path", ["/api/runs/2147483648/errors", "/api/runs/99999999999999999999/conflicts"])
def test_a_run_id_past_what_the_databases_hold_is_not_found_rather_than_a_database_error(
        client: FlaskClient, path: str) -> None:
    response = client.get(path, headers=admin())
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "NOT_FOUND"
