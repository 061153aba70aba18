"""The server answers as api/openapi.yaml says, for inputs schemathesis generates from the spec itself.

Every operation in the spec is called through the Flask app (WSGI, no socket) over SQLite, with the admin token
and both spellings of the cron secret, on an app that holds one integration reading a sandbox on loopback and one
finished run, so the ids in the spec's examples exist. Checks: no 5xx, only documented statuses, documented
content types, and bodies that match the documented schemas. The generation is deterministic (derandomized, no
example database) and bounded, so the run takes the same path every time; what it finds is a real defect of the
server or of the spec.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from app_fixtures import API_TOKEN, CRON_SECRET, admin, build_app, customer_integration, make_settings
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from erp_sync.bootstrap import build
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.web.app import create_app

SPEC = Path(__file__).resolve().parents[2] / "api" / "openapi.yaml"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          unsupported_method]  # the last: a method a path lacks is 405 with an Allow header
MAX_EXAMPLES = 12

CONFIG = schemathesis.Config.from_dict({
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502", "504"]}},
    "auth": {"openapi": {"adminToken": {"bearer": API_TOKEN}, "cronSecret": {"api_key": CRON_SECRET},
                         "cronSecretBearer": {"bearer": CRON_SECRET}}},
})


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=30, seed=7))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def seeded_database(sandbox: RunningSandbox, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file where integration 1 reads the sandbox and run 1 has finished; each operation gets a copy."""
    folder = tmp_path_factory.mktemp("seeded")
    erp = build_app(f"sqlite:///{folder / 'app.sqlite3'}", folder / "instance")
    try:
        client = create_app(erp).test_client()
        created = client.post("/api/integrations", json=customer_integration(sandbox.url), headers=admin())
        assert created.status_code == 201, created.get_json()
        finished = client.post("/api/integrations/1/sync?wait=true", headers=admin())
        assert finished.status_code == 200, finished.get_json()
    finally:
        erp.close()
    return folder / "app.sqlite3"


@pytest.fixture
def app(seeded_database: Path, tmp_path: Path) -> Iterator[Flask]:
    """A fresh app for each operation, so that one operation's deletes and changes do not steer the next."""
    shutil.copyfile(seeded_database, tmp_path / "app.sqlite3")
    erp = build(make_settings(f"sqlite:///{tmp_path / 'app.sqlite3'}", tmp_path / "instance"), with_scheduler=False)
    yield create_app(erp)
    erp.close()


schema = schemathesis.openapi.from_path(SPEC, config=CONFIG)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one app per operation, by design
def test_every_operation_answers_as_the_spec_says(case: Any, app: Flask, sandbox: RunningSandbox) -> None:
    connection = case.body.get("connection") if isinstance(case.body, dict) else None
    if isinstance(connection, dict) and "baseUrl" in connection:
        connection["baseUrl"] = sandbox.url  # the ERP under test: a generated host would be retried for seconds
    case.call_and_validate(app=app, checks=CHECKS)
