"""No secret leaves erp-sync: one full scenario, everything it says scanned for every secret it knows.

The scenario: create a SoftOne and a SOAP integration (each with a webhook), test the connection, sync both, a
failing sync, /metrics, the console pages with a session, the run records, the webhooks delivered to a receiver
on loopback and the global webhook, with every log record at DEBUG captured. Secrets: both ERP passwords, the admin
token, the cron secret, the session key, the webhook URLs' tokens and the encryption key. Also: rotating the
encryption key with `erp-sync db rotate-keys`, and the previous cron secret still accepted while it is set.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import API_TOKEN, CRON_SECRET, SECRET_KEY, admin, build_app, customer_integration, make_settings
from cryptography.fernet import Fernet, InvalidToken
from flask.testing import FlaskClient
from sqlalchemy import text

from erp_sync import cli
from erp_sync.bootstrap import ErpSync, build
from erp_sync.sandbox import SandboxConfig, start_in_thread
from erp_sync.sandbox.soap.config import SoapSandboxConfig
from erp_sync.sandbox.soap.server import start_soap_in_thread
from erp_sync.settings import load_settings
from erp_sync.web.app import create_app

SOFTONE_PASSWORD = "S1-pass-4f9c2e7b1d"
SOAP_PASSWORD = "NAV-pass-8a3e6c0f52"
SESSION_KEY = "session-key-7d1b9e3a5c0f2468ace13579bdf"
HOOK_TOKEN = "hook-token-3c5e7a9b1d2f"
GLOBAL_HOOK_TOKEN = "global-hook-6e8a0c2e4f61"
CRON_PREVIOUS = "previous-cron-secret-0123456789abcdef"


class Receiver:
    """A webhook receiver on loopback that accepts everything."""

    def __init__(self) -> None:
        self.bodies: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def serve_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """The logging `erp-sync serve` sets up at ERP_SYNC_LOG_LEVEL=DEBUG (noisy libraries quieted), captured by
    caplog; the root logger and the quieted loggers are put back afterwards."""
    root, noisy = logging.getLogger(), ("httpx", "httpcore", "apscheduler.executors", "waitress.queue")
    saved = (root.handlers[:], root.level, {name: logging.getLogger(name).level for name in noisy})
    cli._configure_logging("DEBUG")
    root.addHandler(caplog.handler)
    yield
    root.handlers[:], level, levels = saved
    root.setLevel(level)
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


def secrets_in(text_: str) -> list[str]:
    markers = {"SoftOne password": SOFTONE_PASSWORD, "SOAP password": SOAP_PASSWORD, "admin token": API_TOKEN,
               "cron secret": CRON_SECRET, "session key": SESSION_KEY, "webhook token": HOOK_TOKEN,
               "global webhook token": GLOBAL_HOOK_TOKEN, "encryption key": SECRET_KEY,
               "previous cron secret": CRON_PREVIOUS}
    return [name for name, value in markers.items() if value in text_]


def sign_in(client: FlaskClient) -> None:
    form = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf
    assert client.post("/login", data={"token": API_TOKEN, "csrf_token": csrf.group(1)}).status_code == 302


def wait_for(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _integrations(softone_url: str, soap_url: str, hook: str) -> list[dict[str, Any]]:
    softone = customer_integration(softone_url, notifications=[{"type": "webhook", "url": hook}])
    softone["connection"]["password"] = SOFTONE_PASSWORD
    soap = customer_integration(
        name="nav-customers", connector="soap",
        connection={"profile": "nav_page", "wsdlUrl": soap_url, "username": "demo", "password": SOAP_PASSWORD},
        source={"object": "Customer"}, target={"table": "nav_customers", "createIfMissing": True},
        mappings=[{"source": "No", "target": "code"}, {"source": "Name", "target": "name"}], keys=["code"],
        notifications=[{"type": "webhook", "url": hook}])
    return [softone, soap]


def _scenario(erp: ErpSync, client: FlaskClient, softone: Any, nav: Any, receiver: Receiver) -> list[str]:
    """Everything the scenario is answered, as text."""
    said: list[str] = []
    hook = f"{receiver.base}/hooks/{HOOK_TOKEN}"
    ids = []
    for body in _integrations(softone.url, nav.page_url("Customer"), hook):
        created = client.post("/api/integrations", json=body, headers=admin())
        assert created.status_code == 201, created.get_json()
        ids.append(created.get_json()["data"]["id"])
        said.append(created.get_data(as_text=True))
        tested = client.post("/api/connections/test", headers=admin(),
                             json={"connector": body["connector"], "connection": body["connection"]})
        assert tested.status_code == 200, tested.get_json()
        said.append(tested.get_data(as_text=True))
    for integration in ids:
        synced = client.post(f"/api/integrations/{integration}/sync?wait=true", headers=admin())
        assert synced.status_code == 200, synced.get_json()
        said.append(synced.get_data(as_text=True))
    softone.app.state.set_faults({"fail_on_call": {"n": 1, "errorcode": 11, "times": 0}})
    failed = client.post(f"/api/integrations/{ids[0]}/sync?wait=true", headers=admin())
    assert failed.status_code == 502
    said.append(failed.get_data(as_text=True))
    softone.app.state.set_faults({"clear": True})
    wrong = client.post("/api/connections/test", headers=admin(), json={"connector": "softone", "connection": {
        **_integrations(softone.url, "", hook)[0]["connection"], "password": SOFTONE_PASSWORD + "-wrong"}})
    said.append(wrong.get_data(as_text=True))
    for path in ["/api/integrations", *(f"/api/integrations/{i}" for i in ids),
                 *(f"/api/integrations/{i}/runs" for i in ids), "/api/runs/1", "/api/runs/3", "/api/runs/3/errors",
                 "/api/monitoring", "/metrics", "/api/sync"]:
        said.append(client.get(path, headers=admin()).get_data(as_text=True))
    said.append(client.get("/api/cron/monitoring", headers={"X-Cron-Secret": CRON_SECRET}).get_data(as_text=True))
    console = erp_console(erp)
    sign_in(console)
    for page in ["/", "/integrations/new", *(f"/integrations/{i}" for i in ids),
                 *(f"/integrations/{i}/edit" for i in ids)]:
        answer = console.get(page)
        assert answer.status_code == 200, page
        said.append(answer.get_data(as_text=True))
    wait_for(lambda: len(receiver.bodies) >= 2)
    with erp.engine.connect() as conn:
        said += [json.dumps([str(v) for v in row]) for row in conn.execute(text("SELECT * FROM erp_sync_runs"))]
    return said + receiver.bodies


def erp_console(erp: ErpSync) -> FlaskClient:
    return create_app(erp).test_client()


def test_no_secret_appears_in_any_answer_page_run_record_webhook_or_debug_log_line(
        tmp_path: Path, database_url: str, receiver: Receiver, caplog: pytest.LogCaptureFixture,
        serve_logging: None) -> None:
    softone = start_in_thread(SandboxConfig(customers=30, seed=3, password=SOFTONE_PASSWORD))
    nav = start_soap_in_thread(SoapSandboxConfig(seed=1, customers=5, items=5, password=SOAP_PASSWORD))
    erp = build_app(database_url, tmp_path / "instance", ERP_SYNC_SESSION_KEY=SESSION_KEY,
                    ERP_SYNC_WEBHOOK_URL=f"{receiver.base}/hooks/{GLOBAL_HOOK_TOKEN}")
    try:
        said = _scenario(erp, create_app(erp).test_client(), softone, nav, receiver)
    finally:
        erp.close()
        softone.stop()
        nav.stop()
    logged = [f"{r.name}: {r.getMessage()} {r.exc_text or ''}" for r in caplog.records
              if not r.name.startswith("erp_sync.sandbox")]
    assert len(logged) > 20 and any(r.levelname == "DEBUG" for r in caplog.records)
    assert [(secrets_in(line), line[:200]) for line in said + logged if secrets_in(line)] == []


def test_rotating_the_encryption_key_keeps_every_password_and_the_old_key_can_then_be_dropped(
        tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    erp = build_app(database_url, tmp_path / "instance")
    integration = erp.integrations.create(customer_integration()).id
    erp.close()
    new_key = Fernet.generate_key().decode()
    env = {"ERP_SYNC_DATABASE_URL": database_url, "ERP_SYNC_INSTANCE_DIR": str(tmp_path / "instance"),
           "ERP_SYNC_API_TOKEN": API_TOKEN, "CRON_SECRET": CRON_SECRET, "ERP_SYNC_SANDBOX": "off",
           "ERP_SYNC_SCHEDULER": "off", "ERP_SYNC_SECRET_KEYS": f"{new_key},{SECRET_KEY}"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["db", "rotate-keys"]) == 0
    with erp.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_encrypted FROM erp_sync_integrations")).scalar_one()
    assert Fernet(new_key.encode()).decrypt(stored.encode()) == b"demo"
    with pytest.raises(InvalidToken):
        Fernet(SECRET_KEY.encode()).decrypt(stored.encode())
    rotated = build(load_settings({**env, "ERP_SYNC_SECRET_KEYS": new_key}), with_scheduler=False)
    try:
        assert rotated.repository.get(integration).spec.password == "demo"
    finally:
        rotated.close()


def test_the_previous_cron_secret_is_accepted_while_it_is_set_and_refused_once_removed(
        tmp_path: Path, database_url: str) -> None:
    with_previous = build_app(database_url, tmp_path / "one", CRON_SECRET_PREVIOUS=CRON_PREVIOUS)
    try:
        answer = create_app(with_previous).test_client().get("/api/cron/init",
                                                             headers={"X-Cron-Secret": CRON_PREVIOUS})
        assert answer.status_code == 200, answer.get_json()
    finally:
        with_previous.close()
    without = build(make_settings(database_url, tmp_path / "two"), with_scheduler=False)
    try:
        answer = create_app(without).test_client().get("/api/cron/init", headers={"X-Cron-Secret": CRON_PREVIOUS})
        assert answer.status_code == 401
    finally:
        without.close()
