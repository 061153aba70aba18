"""Connection tests and discovery over HTTP against the sandbox: objects, tables, fields, and clear ERP errors."""

from __future__ import annotations

import socket

from app_fixtures import admin, customer_integration
from flask.testing import FlaskClient

from erp_sync.sandbox import RunningSandbox


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_testing_a_saved_integration_lists_objects_tables_and_fields(client: FlaskClient,
                                                                    sandbox: RunningSandbox) -> None:
    created = client.post("/api/integrations", json=customer_integration(sandbox.url), headers=admin())
    integration = created.get_json()["data"]["id"]
    response = client.post(f"/api/integrations/{integration}/test", headers=admin())
    data = response.get_json()["data"]
    assert response.status_code == 200 and data["ok"] is True
    assert "CUSTOMER" in [o["name"] for o in data["objects"]]
    assert any(t["dbname"] == "TRDR" for t in data["tables"])
    assert {"CODE", "NAME", "AFM"} <= {f["name"] for f in data["fields"]}


def test_testing_unsaved_connection_settings_with_a_wrong_password_says_erp_bad_credentials(
        client: FlaskClient, sandbox: RunningSandbox) -> None:
    connection = customer_integration(sandbox.url)["connection"]
    good = client.post("/api/connections/test", json={"connection": connection, "object": "ITEM"}, headers=admin())
    assert good.status_code == 200 and any(f["name"] == "PRICEW" for f in good.get_json()["data"]["fields"])
    bad = client.post("/api/connections/test", json={"connection": {**connection, "password": "nope"}},
                      headers=admin())
    error = bad.get_json()["error"]
    assert bad.status_code == 502 and error["code"] == "ERP_BAD_CREDENTIALS"
    assert "nope" not in bad.get_data(as_text=True)


def test_an_unreachable_erp_answers_erp_unavailable_in_the_envelope(client: FlaskClient) -> None:
    connection = customer_integration(f"http://127.0.0.1:{closed_port()}/s1services")["connection"]
    response = client.post("/api/connections/test", json={"connection": connection}, headers=admin())
    body = response.get_json()
    assert response.status_code == 502 and body["success"] is False
    assert body["error"]["code"] == "ERP_UNAVAILABLE"


def test_connection_tests_validate_their_input(client: FlaskClient) -> None:
    missing = client.post("/api/connections/test", json={"object": "CUSTOMER"}, headers=admin())
    assert missing.status_code == 400 and missing.get_json()["error"]["field"] == "connection"
    no_password = client.post("/api/connections/test", json={"connection": {
        "baseUrl": "http://127.0.0.1:9/s1services", "username": "u", "appId": "1"}}, headers=admin())
    assert no_password.get_json()["error"]["field"] == "connection.password"
    listed = client.post("/api/integrations/1/test", json=[1], headers=admin())
    assert listed.status_code == 400
