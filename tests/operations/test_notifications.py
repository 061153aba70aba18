"""Notifications to a webhook receiver on loopback (it fails twice, then accepts), Slack messages, the global
webhook, redacted and encrypted URLs, auto-pause after consecutive failures, and retries of failed scheduled runs."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import admin, customer_integration
from flask.testing import FlaskClient
from operations_support import build_frozen
from sqlalchemy import select

from erp_sync.bootstrap import ErpSync
from erp_sync.clock import FrozenClock
from erp_sync.db.models import INTEGRATIONS, RUNS
from erp_sync.sandbox import RunningSandbox


class Receiver:
    """An HTTP server on loopback that answers 500 to its first `failures` requests, then 200."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.received: list[dict[str, Any]] = []
        self.accepted: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.received.append(body)
                ok = len(receiver.received) > receiver.failures
                if ok:
                    receiver.accepted.append(body)
                self.send_response(200 if ok else 500)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/secret-token-123"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [body.get("event", "slack") for body in self.accepted]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver(failures=2)
    yield running
    running.close()


def wait_for(condition: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")


def failing(sandbox: RunningSandbox, name: str, **changes: Any) -> dict[str, Any]:
    body = customer_integration(sandbox.url, name=name, **changes)
    body["connection"]["password"] = "not-the-password"
    return body


def test_a_failed_run_is_announced_to_a_webhook_that_fails_twice_then_accepts(
        client: FlaskClient, ops: ErpSync, sandbox: RunningSandbox, receiver: Receiver) -> None:
    integration = ops.integrations.create(failing(sandbox, "announced", notifications=[
        {"type": "webhook", "url": receiver.url, "events": ["failed", "recovered"]}])).id
    outcome = ops.runner.run(integration, "api")
    assert outcome.error_code == "ERP_BAD_CREDENTIALS"
    wait_for(lambda: receiver.accepted)
    assert len(receiver.received) == 3
    event = receiver.accepted[0]
    assert event == {**event, "event": "failed", "integration_id": integration, "integration_name": "announced",
                     "run_id": outcome.run_id, "trigger": "api", "status": "failed",
                     "error_code": "ERP_BAD_CREDENTIALS"}
    answer = wait_for(lambda: (client.get(f"/api/integrations/{integration}", headers=admin()).get_json()["data"]
                               if receiver.accepted else None))
    delivery = wait_for(lambda: client.get(f"/api/integrations/{integration}", headers=admin())
                        .get_json()["data"]["lastNotification"])
    assert delivery == {**delivery, "event": "failed", "ok": True, "attempts": 3, "error": None,
                        "target": f"http://127.0.0.1:{receiver.server.server_address[1]}/***"}
    assert answer["notifications"][0]["url"] == delivery["target"]


def test_urls_are_stored_encrypted_answered_redacted_and_kept_when_sent_back(
        client: FlaskClient, ops: ErpSync, sandbox: RunningSandbox, receiver: Receiver) -> None:
    created = client.post("/api/integrations", headers=admin(), json=failing(sandbox, "secretive", notifications=[
        {"type": "webhook", "url": receiver.url}])).get_json()["data"]
    assert created["notifications"] == [{"type": "webhook", "events": ["failed", "recovered", "alert", "paused"],
                                         "url": f"http://127.0.0.1:{receiver.server.server_address[1]}/***"}]
    with ops.engine.connect() as conn:
        stored = conn.execute(select(INTEGRATIONS.c.notifications_encrypted)).scalar_one()
    assert "secret-token-123" not in stored and "127.0.0.1" not in stored
    patched = client.patch(f"/api/integrations/{created['id']}", headers=admin(),
                           json={"notifications": created["notifications"], "name": "renamed"})
    assert patched.status_code == 200, patched.get_json()
    ops.runner.run(created["id"], "api")
    wait_for(lambda: receiver.accepted)  # still the real URL, token and all
    assert receiver.accepted[0]["integration_name"] == "renamed"


def test_slack_gets_a_message_and_the_global_webhook_every_event(
        database_url: str, tmp_path: Path, clock: FrozenClock, sandbox: RunningSandbox) -> None:
    slack, everything = Receiver(), Receiver()
    erp = build_frozen(database_url, tmp_path / "instance", clock, ERP_SYNC_WEBHOOK_URL=everything.url)
    try:
        body = failing(sandbox, "slacked", notifications=[{"type": "slack", "url": slack.url, "events": ["failed"]}])
        integration = erp.integrations.create(body).id
        run = erp.runner.run(integration, "api")
        wait_for(lambda: slack.accepted and everything.accepted)
        assert slack.accepted[0] == {"text": f":x: erp-sync: integration {integration} (slacked), run {run.run_id} "
                                             f"failed: ERP_BAD_CREDENTIALS {run.error_message}"}
        assert everything.accepted[0]["event"] == "failed"
        erp.integrations.update(integration, {"connection": {"password": "demo"}})
        erp.runner.run(integration, "api")
        wait_for(lambda: "recovered" in everything.events())
        assert slack.events() == ["slack"]  # it asked for failed only
    finally:
        erp.close()
        slack.close()
        everything.close()


def test_consecutive_failures_pause_the_integration_with_a_reason_and_a_paused_event(
        client: FlaskClient, ops: ErpSync, sandbox: RunningSandbox) -> None:
    hooks = Receiver()
    try:
        integration = ops.integrations.create(failing(sandbox, "pausable", options={"pauseAfterFailures": 2},
                                                      notifications=[{"type": "webhook", "url": hooks.url}])).id
        ops.runner.run(integration, "api")
        wait_for(lambda: "failed" in hooks.events())
        assert ops.integrations.get(integration).spec.is_active
        ops.runner.run(integration, "api")
        wait_for(lambda: "paused" in hooks.events())
        answer = client.get(f"/api/integrations/{integration}", headers=admin()).get_json()["data"]
        assert answer["isActive"] is False
        assert answer["pausedReason"].startswith("paused by erp-sync after 2 failed runs in a row")
        paused = next(body for body in hooks.accepted if body["event"] == "paused")
        assert paused["reason"] == answer["pausedReason"]
        resumed = client.patch(f"/api/integrations/{integration}", headers=admin(),
                               json={"isActive": True, "connection": {"password": "demo"}}).get_json()["data"]
        assert resumed["isActive"] is True and resumed["pausedReason"] is None
    finally:
        hooks.close()


def runs_of(erp: ErpSync, integration: int) -> list[dict[str, Any]]:
    with erp.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(RUNS).where(RUNS.c.integration_id == integration)
                                              .order_by(RUNS.c.id)).mappings()]


def test_a_failed_scheduled_run_is_retried_as_its_own_run_and_bad_credentials_are_not(
        ops: ErpSync, sandbox: RunningSandbox, clock: FrozenClock) -> None:
    retry = {"attempts": 1, "backoffSeconds": 10}
    unreachable = ops.integrations.create(customer_integration(name="unreachable", options={"retry": retry})).id
    refused = ops.integrations.create(failing(sandbox, "refused", options={"retry": retry})).id
    first = ops.runner.run(unreachable, "schedule", scheduled_for=clock.now())
    denied = ops.runner.run(refused, "schedule", scheduled_for=clock.now())
    assert (first.error_code, denied.error_code) == ("ERP_UNAVAILABLE", "ERP_BAD_CREDENTIALS")
    finished = lambda: [r for r in runs_of(ops, unreachable) if r["finished_at"]]  # noqa: E731
    runs = wait_for(lambda: finished()[1:] and finished(), timeout=40)
    assert [(r["trigger"], r["retry_of"], r["status"]) for r in runs] == [
        ("schedule", None, "failed"), ("retry", first.run_id, "failed")]
    time.sleep(12)  # attempts: 1, so no second retry; and none at all after bad credentials
    assert len(runs_of(ops, unreachable)) == 2
    assert [r["trigger"] for r in runs_of(ops, refused)] == ["schedule"]


def test_a_new_alert_is_announced_once_while_it_holds(ops: ErpSync, sandbox: RunningSandbox,
                                                     clock: FrozenClock) -> None:
    hooks = Receiver()
    try:
        integration = ops.integrations.create(failing(sandbox, "alerting", notifications=[
            {"type": "webhook", "url": hooks.url, "events": ["alert"]}])).id
        for _ in range(4):
            clock.advance(timedelta(minutes=1))
            ops.runner.run(integration, "api")
        ops.after_run.close()  # waits for every run's follow-up and every delivery
        assert [body["alert"]["code"] for body in hooks.accepted] == ["CONSECUTIVE_FAILURES"]
        # evaluated when the third run's follow-up ran, by when the fourth may have failed too
        assert re.search(r"the last [34] runs failed in a row", hooks.accepted[0]["alert"]["message"])
    finally:
        hooks.close()
