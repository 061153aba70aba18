"""The integration API: CRUD, validation codes, write-only password, schedule preview, on both databases."""

from __future__ import annotations

from typing import Any

import pytest
from app_fixtures import CRON_SECRET, admin, customer_integration
from flask.testing import FlaskClient
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync
from erp_sync.web.app import create_app


@pytest.fixture
def client(erp: ErpSync) -> FlaskClient:
    return create_app(erp).test_client()


def create(client: FlaskClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/api/integrations", json=customer_integration(**changes), headers=admin())
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def error_of(response: Any) -> dict[str, Any]:
    body = response.get_json()
    assert body["success"] is False
    assert body["meta"]["requestId"]
    return body["error"]


def test_create_answers_the_integration_in_the_envelope_without_the_password(client: FlaskClient) -> None:
    body = customer_integration()
    body["connection"]["password"] = "s3cret-pw"
    response = client.post("/api/integrations", json=body, headers=admin())
    assert "s3cret-pw" not in response.get_data(as_text=True)
    body = response.get_json()
    assert response.status_code == 201
    assert body["success"] is True
    data = body["data"]
    assert data["name"] == "customers"
    assert data["connection"]["hasPassword"] is True
    assert "password" not in data["connection"]
    assert data["schedule"] == {"cronExpression": "*/5 * * * *", "timezone": "Europe/Athens"}
    assert data["isActive"] is True and data["direction"] == "one_way"
    listed = client.get("/api/integrations", headers=admin()).get_json()["data"]
    assert [i["id"] for i in listed] == [data["id"]]


def test_password_is_encrypted_at_rest_and_kept_when_a_patch_leaves_it_out(client: FlaskClient,
                                                                            erp: ErpSync) -> None:
    created = create(client)
    with erp.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_encrypted FROM erp_sync_integrations")).scalar_one()
    assert stored and "demo" not in stored
    response = client.patch(f"/api/integrations/{created['id']}", json={"schedule": {"cronExpression": "0 * * * *"}},
                            headers=admin())
    assert response.status_code == 200
    assert response.get_json()["data"]["schedule"]["cronExpression"] == "0 * * * *"
    assert erp.integrations.get(created["id"]).spec.password == "demo"
    client.patch(f"/api/integrations/{created['id']}", json={"connection": {"password": "n3w"}}, headers=admin())
    assert erp.integrations.get(created["id"]).spec.password == "n3w"


@pytest.mark.parametrize(("changes", "status", "code", "field"), [
    ({"schedule": {"cronExpression": "not a cron", "timezone": "UTC"}}, 400, "INVALID_CRON",
     "schedule.cronExpression"),
    ({"schedule": {"cronExpression": "0 0 31 2 *", "timezone": "UTC"}}, 400, "INVALID_CRON",
     "schedule.cronExpression"),
    ({"schedule": {"cronExpression": "0 * * * *", "timezone": "Mars/Olympus"}}, 400, "UNKNOWN_TIMEZONE",
     "schedule.timezone"),
    ({"target": {"table": "no_such_table"}}, 400, "UNKNOWN_TABLE", "target.table"),
    ({"keys": ["nope"]}, 400, "INVALID_MAPPING", "keys[0]"),
    ({"mappings": [{"source": "A", "target": "erp_id"}, {"source": "B", "target": "erp_id"}]}, 400,
     "INVALID_MAPPING", "mappings[1].target"),
    ({"mappings": [{"source": "CUSTOMER.TRDR", "target": "erp_id"}, {"source": "X", "target": "missing_col"}]},
     400, "UNKNOWN_COLUMN", None),
    ({"target": {"table": 'x"; DROP TABLE customers; --'}}, 400, "VALIDATION_ERROR", "target.table"),
    ({"connection": {"baseUrl": "ftp://x", "username": "u", "appId": "1"}}, 400, "VALIDATION_ERROR",
     "connection.baseUrl"),
    ({"source": {"object": "CUSTOMER", "pageSize": 0}}, 400, "VALIDATION_ERROR", "source.pageSize"),
    ({"direction": "sideways"}, 400, "VALIDATION_ERROR", "direction"),
    ({"surprise": 1}, 400, "VALIDATION_ERROR", "surprise"),
])
def test_bad_integrations_are_refused_with_a_stable_code_and_the_field(
        client: FlaskClient, erp: ErpSync, changes: dict[str, Any], status: int, code: str, field: str | None) -> None:
    response = client.post("/api/integrations", json=customer_integration(**changes), headers=admin())
    error = error_of(response)
    assert response.status_code == status
    assert error["code"] == code, error
    if field:
        assert error["field"] == field
    assert error["message"]
    assert erp.integrations.list() == []
    with erp.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers")).scalar_one() == 0


def test_unknown_column_error_names_the_column_and_the_mapping(client: FlaskClient) -> None:
    mappings = [{"source": "CUSTOMER.TRDR", "target": "erp_id"}, {"source": "X", "target": "missing_col"}]
    error = error_of(client.post("/api/integrations", json=customer_integration(mappings=mappings), headers=admin()))
    assert "missing_col" in error["message"]
    assert error["field"].startswith("mappings")


def test_duplicate_names_get_409_and_unknown_ids_404(client: FlaskClient) -> None:
    create(client)
    response = client.post("/api/integrations", json=customer_integration(), headers=admin())
    assert response.status_code == 409
    assert error_of(response)["code"] == "DUPLICATE_NAME"
    for method in ("get", "patch", "delete"):
        missing = getattr(client, method)("/api/integrations/999", json={"isActive": False}, headers=admin())
        assert missing.status_code == 404
        assert error_of(missing)["code"] == "NOT_FOUND"


def test_delete_removes_the_integration(client: FlaskClient) -> None:
    created = create(client)
    assert client.delete(f"/api/integrations/{created['id']}", headers=admin()).status_code == 200
    assert client.get(f"/api/integrations/{created['id']}", headers=admin()).status_code == 404


def test_schedule_preview_gives_zone_and_utc_times_and_a_description(client: FlaskClient) -> None:
    created = create(client, schedule={"cronExpression": "30 2 * * *", "timezone": "Europe/Athens"})
    response = client.get(f"/api/integrations/{created['id']}/schedule?count=3", headers=admin())
    data = response.get_json()["data"]
    assert response.status_code == 200
    assert len(data["nextRuns"]) == 3
    assert all(run["utc"].endswith("Z") for run in data["nextRuns"])
    assert all("T02:30:00+0" in run["local"] for run in data["nextRuns"])
    assert "02:30" in data["description"]
    bad = client.get(f"/api/integrations/{created['id']}/schedule?count=0", headers=admin())
    assert bad.status_code == 400 and error_of(bad)["field"] == "count"


def test_admin_endpoints_need_the_admin_token(client: FlaskClient) -> None:
    assert error_of(client.get("/api/integrations"))["code"] == "UNAUTHORIZED"
    wrong = client.get("/api/integrations", headers=admin("wrong"))
    assert wrong.status_code == 401
    with_cron = client.get("/api/integrations", headers={"X-Cron-Secret": CRON_SECRET})
    assert with_cron.status_code == 403
    assert error_of(with_cron)["code"] == "FORBIDDEN"
    assert client.get("/api/integrations", headers=admin(CRON_SECRET)).status_code == 403


def test_malformed_bodies_get_codes_not_500s(client: FlaskClient) -> None:
    broken = client.post("/api/integrations", data="{not json", headers={**admin(), "Content-Type": "application/json"})
    assert broken.status_code == 400 and error_of(broken)["code"] == "MALFORMED_JSON"
    wrong_type = client.post("/api/integrations", data="name=x", headers={**admin(), "Content-Type": "text/plain"})
    assert wrong_type.status_code == 415 and error_of(wrong_type)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    huge = client.post("/api/integrations", data="[" + "1," * 600_000 + "1]",
                       headers={**admin(), "Content-Type": "application/json"})
    assert huge.status_code == 413 and error_of(huge)["code"] == "PAYLOAD_TOO_LARGE"
    not_object = client.post("/api/integrations", json=[1, 2], headers=admin())
    assert not_object.status_code == 400 and error_of(not_object)["code"] == "VALIDATION_ERROR"
    nowhere = client.get("/api/nowhere", headers=admin())
    assert nowhere.status_code == 404 and error_of(nowhere)["code"] == "NOT_FOUND"
    wrong_method = client.put("/api/integrations", headers=admin())
    assert wrong_method.status_code == 405 and error_of(wrong_method)["code"] == "METHOD_NOT_ALLOWED"


def test_an_incoming_request_id_is_kept(client: FlaskClient) -> None:
    response = client.get("/api/integrations", headers={**admin(), "X-Request-ID": "trace-123"})
    assert response.get_json()["meta"]["requestId"] == "trace-123"
    assert response.headers["X-Request-ID"] == "trace-123"
