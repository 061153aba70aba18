"""The server answers as api/openapi.yaml says, for inputs schemathesis generates from the spec itself.

Every operation in the spec is called through the Flask app (WSGI, no socket) over SQLite and PostgreSQL (the
`pg_cluster` of tests/conftest.py; ERP_SYNC_TEST_DATABASES picks the databases as elsewhere), with the admin token
and both spellings of the cron secret, on an app that holds one integration reading a sandbox on loopback and one
finished run, so the ids in the spec's examples exist. Checks: no 5xx, only documented statuses, documented
content types, bodies that match the documented schemas, and every error's code one api/errors.md lists.
ERP_SYNC_PROVING=deep raises the examples per operation from 12 to 200. The generation is deterministic
(derandomized, no example database) and bounded, so the run takes the same path every time; what it finds is a
real defect of the server or of the spec.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from app_fixtures import API_TOKEN, CRON_SECRET, admin, build_app, customer_integration, make_settings
from flask import Flask
from hypothesis import HealthCheck, settings
from postgres_cluster import PostgresCluster
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
ERRORS_MD = SPEC.parent / "errors.md"
DOCUMENTED_CODES = frozenset(re.findall(r"^\| `([A-Z_]+)` \| \d{3} \|", ERRORS_MD.read_text(), flags=re.MULTILINE))
MAX_EXAMPLES = 200 if os.environ.get("ERP_SYNC_PROVING") == "deep" else 12
DATABASES = [name.strip() for name in os.environ.get("ERP_SYNC_TEST_DATABASES", "sqlite,postgresql").split(",")
             if name.strip()]


@schemathesis.check
def error_code_is_documented(ctx: Any, response: Any, case: Any) -> None:
    """A failure envelope's `error.code` is one of the codes api/errors.md lists."""
    if response.status_code < 400 or "json" not in response.headers.get("content-type", [""])[0]:
        return
    error = (response.json() or {}).get("error") if isinstance(response.json(), dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    assert code in DOCUMENTED_CODES, f"{case.operation.label} answered error code {code!r}, not in api/errors.md"


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          unsupported_method,  # a method a path lacks is 405 with an Allow header
          error_code_is_documented]

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


def _seed(url: str, instance: Path, sandbox: RunningSandbox) -> None:
    erp = build_app(url, instance)
    try:
        client = create_app(erp).test_client()
        created = client.post("/api/integrations", json=customer_integration(sandbox.url), headers=admin())
        assert created.status_code == 201, created.get_json()
        finished = client.post("/api/integrations/1/sync?wait=true", headers=admin())
        assert finished.status_code == 200, finished.get_json()
    finally:
        erp.close()


@pytest.fixture(scope="module", params=DATABASES)
def seeded_database(request: pytest.FixtureRequest, sandbox: RunningSandbox,
                    tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database where integration 1 reads the sandbox and run 1 has finished; each operation gets a copy. The
    SQLite file's path, or the URL of a PostgreSQL database used as the copies' template."""
    folder = tmp_path_factory.mktemp("seeded")
    if request.param == "sqlite":
        _seed(f"sqlite:///{folder / 'app.sqlite3'}", folder / "instance", sandbox)
        return str(folder / "app.sqlite3")
    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    url = cluster.create_database("seed")
    _seed(url, folder / "instance", sandbox)
    return url


def _copy_of(seeded: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if not seeded.startswith("postgresql"):
        shutil.copyfile(seeded, tmp_path / "app.sqlite3")
        return f"sqlite:///{tmp_path / 'app.sqlite3'}"
    import psycopg

    cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
    template, copy = seeded.rsplit("/", 1)[1], f"copy_{os.getpid()}_{tmp_path.name}"[:63]
    with psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
    return cluster.url(copy)


@pytest.fixture
def app(seeded_database: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Flask]:
    """A fresh app for each operation, so that one operation's deletes and changes do not steer the next."""
    url = _copy_of(seeded_database, tmp_path, request)
    erp = build(make_settings(url, tmp_path / "instance"), with_scheduler=False)
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
