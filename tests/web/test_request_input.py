"""Input that once answered 500: deep JSON, ids past the database's range, loosely parsed ids, 405 without Allow.

Every one is a client error: a 4xx in the envelope with a stable code and the field to fix, on both databases.
"""

from __future__ import annotations

from typing import Any

import pytest
from app_fixtures import CRON_SECRET, admin, customer_integration
from flask.testing import FlaskClient

from erp_sync.bootstrap import ErpSync
from erp_sync.web.app import create_app

JSON = {"Content-Type": "application/json"}
CRON = {"X-Cron-Secret": CRON_SECRET}
BEYOND_SQLITE = 2**63
BEYOND_POSTGRESQL = 2**31


@pytest.fixture
def client(erp: ErpSync) -> FlaskClient:
    return create_app(erp).test_client()


@pytest.fixture
def integration(client: FlaskClient) -> int:
    response = client.post("/api/integrations", json=customer_integration(), headers=admin())
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["data"]["id"])


def error_of(response: Any, status: int) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["success"] is False and body["meta"]["requestId"]
    return dict(body["error"])


BODY_ROUTES = [
    ("post", "/api/integrations", admin()),
    ("patch", "/api/integrations/{id}", admin()),
    ("post", "/api/integrations/{id}/test", admin()),
    ("post", "/api/integrations/{id}/sync", admin()),
    ("post", "/api/connections/test", admin()),
    ("post", "/api/cron/sync-integration", CRON),
]


@pytest.mark.parametrize("body", ["[" * 100_000, '{"a":' * 50_000, "[" * 65 + "]" * 65],
                         ids=["100k-brackets", "50k-objects", "65-levels"])
@pytest.mark.parametrize(("method", "path", "headers"), BODY_ROUTES, ids=[f"{m} {p}" for m, p, _ in BODY_ROUTES])
def test_json_nested_deeper_than_64_levels_is_refused_with_400_on_every_route_that_takes_a_body(
        client: FlaskClient, integration: int, method: str, path: str, headers: dict[str, str], body: str) -> None:
    response = getattr(client, method)(path.format(id=integration), data=body, headers={**headers, **JSON})
    error = error_of(response, 400)
    assert error["code"] == "VALIDATION_ERROR"
    assert "64 levels" in error["message"]


def test_json_nested_64_levels_deep_is_parsed(client: FlaskClient, integration: int) -> None:
    deep: Any = "x"
    for _ in range(63):  # with the body object around them, 64 levels
        deep = [deep]
    response = client.post(f"/api/integrations/{integration}/test", json={"object": deep}, headers=admin())
    error = error_of(response, 400)
    assert error["field"] == "object"  # it reached the handler, which wants a string there


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity"])
def test_numbers_json_cannot_carry_are_refused_with_400(client: FlaskClient, integration: int, literal: str) -> None:
    response = client.post("/api/cron/sync-integration", data=f'{{"integrationId": {literal}}}',
                           headers={**CRON, **JSON})
    assert error_of(response, 400)["code"] in {"VALIDATION_ERROR", "MALFORMED_JSON"}


@pytest.mark.parametrize("path", ["/api/integrations/{big}", "/api/integrations/{big}/schedule",
                                  "/api/integrations/{big}/runs", "/api/runs/{big}", "/api/runs/{big}/errors",
                                  "/api/runs/{big}/conflicts", "/api/integrations/0", "/api/runs/0"])
@pytest.mark.parametrize("big", [str(BEYOND_SQLITE), str(BEYOND_POSTGRESQL), str(10**30), "9" * 5000],
                         ids=["2^63", "2^31", "10^30", "5000-digits"])
def test_a_path_id_beyond_the_databases_range_is_404_not_found_naming_the_id(
        client: FlaskClient, integration: int, path: str, big: str) -> None:
    response = client.get(path.format(big=big), headers=admin())
    error = error_of(response, 404)
    assert error["code"] == "NOT_FOUND"
    assert error["field"] == "id"
    assert "2147483647" in error["message"]


def test_deleting_or_syncing_an_id_beyond_the_databases_range_is_404(client: FlaskClient, integration: int) -> None:
    assert error_of(client.delete(f"/api/integrations/{BEYOND_SQLITE}", headers=admin()), 404)["field"] == "id"
    assert error_of(client.patch(f"/api/integrations/{BEYOND_SQLITE}", json={"isActive": False},
                                 headers=admin()), 404)["field"] == "id"
    assert error_of(client.post(f"/api/integrations/{BEYOND_SQLITE}/sync", headers=admin()), 404)["field"] == "id"
    assert client.get(f"/api/integrations/{integration}", headers=admin()).status_code == 200


@pytest.mark.parametrize("path", ["/api/integrations/１", "/api/integrations/١", "/api/runs/１"])
def test_a_path_id_of_non_ascii_digits_names_no_route(client: FlaskClient, integration: int, path: str) -> None:
    assert error_of(client.get(path, headers=admin()), 404)["code"] == "NOT_FOUND"


@pytest.mark.parametrize("value", [1.9, 1.0, True, "1_0", "１", " 1", "1 ", "+1", "-1", "0", 0, -1, "", "0x1", "1e1",
                                   None, [1], {"id": 1}, 10**30, BEYOND_SQLITE, BEYOND_POSTGRESQL,
                                   str(BEYOND_SQLITE), "9" * 5000])
def test_an_integration_id_in_a_cron_body_is_a_json_integer_or_ascii_digits_in_range(
        client: FlaskClient, erp: ErpSync, integration: int, value: Any) -> None:
    response = client.post("/api/cron/sync-integration", json={"integrationId": value}, headers=CRON)
    error = error_of(response, 400)
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == "integrationId"
    assert erp.monitoring.runs(integration, 10, 0)[1] == 0  # nothing ran


@pytest.mark.parametrize("value", ["1.9", "1_0", "１", "+1", "-1", "0", "1e1", str(BEYOND_SQLITE), "9" * 5000])
def test_an_integration_id_in_a_cron_query_is_ascii_digits_in_range(
        client: FlaskClient, erp: ErpSync, integration: int, value: str) -> None:
    response = client.get("/api/cron/sync-integration", query_string={"integrationId": value}, headers=CRON)
    error = error_of(response, 400)
    assert error["field"] == "integrationId"
    assert "2147483647" in error["message"]
    assert erp.monitoring.runs(integration, 10, 0)[1] == 0


@pytest.mark.parametrize("value", [2147483647, "2147483647", "0002147483647"])
def test_the_largest_integration_id_is_looked_up_and_not_found(client: FlaskClient, value: Any) -> None:
    response = client.post("/api/cron/sync-integration", json={"integrationId": value}, headers=CRON)
    assert error_of(response, 404)["code"] == "NOT_FOUND"


@pytest.mark.parametrize(("name", "value"), [("count", "５"), ("count", "1_0"), ("count", " 5"), ("limit", "２0"),
                                             ("offset", "1_000"), ("offset", "9" * 5000)])
def test_whole_number_query_parameters_take_ascii_digits_only(client: FlaskClient, integration: int, name: str,
                                                              value: str) -> None:
    path = f"/api/integrations/{integration}/" + ("schedule" if name == "count" else "runs")
    error = error_of(client.get(path, query_string={name: value}, headers=admin()), 400)
    assert error["field"] == name


@pytest.mark.parametrize("body", [{"object": 5}, {"object": ["CUSTOMER"]}, {"table": {"a": 1}}])
def test_explore_names_must_be_text(client: FlaskClient, integration: int, body: dict[str, Any]) -> None:
    response = client.post(f"/api/integrations/{integration}/test", json=body, headers=admin())
    assert error_of(response, 400)["field"] == next(iter(body))


@pytest.mark.parametrize("value", [1, 0, [], {}, "maybe"])
def test_sync_flags_in_a_body_are_booleans_or_their_spellings(client: FlaskClient, integration: int,
                                                              value: Any) -> None:
    response = client.post(f"/api/integrations/{integration}/sync", json={"dryRun": value}, headers=admin())
    assert error_of(response, 400)["field"] == "dryRun"


def test_a_method_a_path_does_not_take_answers_405_with_allow_in_the_envelope(client: FlaskClient,
                                                                              integration: int) -> None:
    response = client.put(f"/api/integrations/{integration}", json={}, headers=admin())
    assert error_of(response, 405)["code"] == "METHOD_NOT_ALLOWED"
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "PATCH", "DELETE"}
    assert response.headers["Content-Type"] == "application/json"
    listing = client.delete("/api/integrations", headers=admin())
    assert error_of(listing, 405)["code"] == "METHOD_NOT_ALLOWED"
    assert {"GET", "POST"} <= set(listing.headers["Allow"].replace(" ", "").split(","))



@pytest.mark.parametrize("column", ["x" * 64, "not a column", "deleted-at", "1st"])
@pytest.mark.parametrize("policy", ["ignore", "hard_delete"])
def test_a_soft_delete_column_is_a_column_name_whatever_the_delete_policy(
        client: FlaskClient, erp: ErpSync, column: str, policy: str) -> None:
    body = customer_integration(deletePolicy=policy, softDeleteColumn=column)
    error = error_of(client.post("/api/integrations", json=body, headers=admin()), 400)
    assert error["code"] == "VALIDATION_ERROR" and error["field"] == "softDeleteColumn"
    assert erp.integrations.list() == []


def test_a_connection_test_with_an_unknown_server_time_zone_is_400_naming_it(client: FlaskClient) -> None:
    body = {"connection": {**customer_integration()["connection"], "serverTimezone": "Mars/Olympus"}}
    error = error_of(client.post("/api/connections/test", json=body, headers=admin()), 400)
    assert error["code"] == "UNKNOWN_TIMEZONE"
    assert error["field"] == "connection.serverTimezone"
    assert "Mars/Olympus" in error["message"]
