"""An integration is scheduled from the moment it becomes active: `activatedAt` in its answer, and a slot before it
is never caught up as if it had been missed (over HTTP, against the sandbox)."""

from __future__ import annotations

from datetime import datetime

from app_fixtures import CRON_SECRET, admin, customer_integration
from flask.testing import FlaskClient

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox


def test_a_new_every_five_minutes_integration_is_not_run_by_cron_init(
        client: FlaskClient, erp: ErpSync, sandbox: RunningSandbox) -> None:
    body = customer_integration(sandbox.url, schedule={"cronExpression": "*/5 * * * *", "timezone": "UTC"})
    before = erp.clock.now()
    created = client.post("/api/integrations", json=body, headers=admin()).get_json()["data"]
    activated = datetime.fromisoformat(created["activatedAt"])
    assert before <= activated <= erp.clock.now()
    init = client.get("/api/cron/init", headers={"X-Cron-Secret": CRON_SECRET}).get_json()["data"]
    assert init["caughtUp"] == [] and init["missed"] == []
    runs = client.get(f"/api/integrations/{created['id']}/runs", headers=admin()).get_json()["data"]["items"]
    assert runs == []


def test_activated_at_is_answered_moves_when_an_integration_is_switched_on_and_can_be_sent_back(
        client: FlaskClient, sandbox: RunningSandbox) -> None:
    body = customer_integration(sandbox.url, isActive=False)
    created = client.post("/api/integrations", json=body, headers=admin()).get_json()["data"]
    assert created["activatedAt"] is None
    url = f"/api/integrations/{created['id']}"
    switched_on = client.patch(url, json={"isActive": True}, headers=admin()).get_json()["data"]
    assert switched_on["activatedAt"] is not None
    sent_back = client.patch(url, json={**switched_on, "name": "renamed"}, headers=admin())
    assert sent_back.status_code == 200, sent_back.get_json()
    assert sent_back.get_json()["data"]["activatedAt"] == switched_on["activatedAt"]
