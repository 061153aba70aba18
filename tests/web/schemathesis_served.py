"""What the schemathesis runs share: erp-sync served over real HTTP on loopback, seeded databases and their copies,
the ERPs on loopback the generated connections are pointed at, and the check that error codes are documented.

The server is the one `erp-sync serve` runs (waitress through `erp_sync.web.http_server.create_http_server`, with
its envelope for requests waitress refuses by itself) on a free loopback port, in a thread of the test process.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from app_fixtures import API_TOKEN, CRON_SECRET, admin, build_app, customer_integration, make_settings
from postgres_cluster import PostgresCluster
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from erp_sync.bootstrap import build
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.sandbox.soap import RunningSoapSandbox, SoapSandboxConfig, start_soap_in_thread
from erp_sync.web.app import create_app
from erp_sync.web.console.throttle import SignInThrottle
from erp_sync.web.http_server import create_http_server

API = Path(__file__).resolve().parents[2] / "api"
DOCUMENTED_CODES = frozenset(re.findall(r"^\| `([A-Z_]+)` \| \d{3} \|", (API / "errors.md").read_text(),
                                        flags=re.MULTILINE))
DEEP = os.environ.get("ERP_SYNC_PROVING") == "deep"
DATABASES = [name.strip() for name in os.environ.get("ERP_SYNC_TEST_DATABASES", "sqlite,postgresql").split(",")
             if name.strip()]
SESSION_KEY = "schemathesis-session-key-0123456789abcdef"  # one key, so one sign-in opens every served copy
# The API's own credentials, and the statuses that are no server error: the ERP's failures (502, 504) are answers.
API_CONFIG = {
    "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502", "504"]}},
    "auth": {"openapi": {"adminToken": {"bearer": API_TOKEN}, "cronSecret": {"api_key": CRON_SECRET},
                         "cronSecretBearer": {"bearer": CRON_SECRET}}},
}


@schemathesis.check
def error_code_is_documented(ctx: Any, response: Any, case: Any) -> None:
    """A JSON failure envelope's `error.code` is one of the codes api/errors.md lists."""
    if response.status_code < 400 or "json" not in response.headers.get("content-type", [""])[0]:
        return
    body = response.json()
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    assert code in DOCUMENTED_CODES, f"{case.operation.label} answered error code {code!r}, not in api/errors.md"


# No 5xx, documented statuses, content types and bodies, documented error codes.
CONTRACT_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance, error_code_is_documented]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with start_in_thread(SandboxConfig(customers=30, seed=7)) as running:
        yield running


@pytest.fixture(scope="module")
def soap_sandbox() -> Iterator[RunningSoapSandbox]:
    """A NAV-style SOAP service whose WSDL the generated SOAP connections discover."""
    with start_soap_in_thread(SoapSandboxConfig(customers=5, items=5, seed=7)) as running:
        yield running


@pytest.fixture(scope="module", params=DATABASES)
def seeded(request: pytest.FixtureRequest, sandbox: RunningSandbox,
           tmp_path_factory: pytest.TempPathFactory) -> tuple[str, PostgresCluster | None]:
    """A seeded database (see `seeded_database`) on each database, with the cluster its copies are made in."""
    cluster: PostgresCluster | None = request.getfixturevalue("pg_cluster") if request.param == "postgresql" else None
    return seeded_database(request.param, tmp_path_factory.mktemp("seeded"), sandbox, cluster), cluster


@contextmanager
def served(database_url: str, instance: Path, *, sign_in_waits: bool = True) -> Iterator[str]:
    """erp-sync on `database_url` (migrated already) served over HTTP on a free loopback port; yields its URL.
    `sign_in_waits=False` keeps the console's sign-in throttle counting wrong tokens but not waiting after them."""
    erp = build(make_settings(database_url, instance, ERP_SYNC_SESSION_KEY=SESSION_KEY), with_scheduler=False)
    app = create_app(erp)
    if not sign_in_waits:
        app.extensions["erp_sync_console_throttle"] = SignInThrottle(sleep=lambda seconds: None)
    server = create_http_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, name="schemathesis-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.task_dispatcher.shutdown()  # the answers under way are written first
        server.trigger.pull_trigger(server.close)  # closed by the server's own loop thread, which then ends
        thread.join(timeout=10)
        erp.close()


def seed(url: str, instance: Path, sandbox: RunningSandbox) -> None:
    """Integration 1 reading the sandbox, and its finished run 1, so the ids in the specs' examples exist."""
    erp = build_app(url, instance)
    try:
        client = create_app(erp).test_client()
        created = client.post("/api/integrations", json=customer_integration(sandbox.url), headers=admin())
        assert created.status_code == 201, created.get_json()
        finished = client.post("/api/integrations/1/sync?wait=true", headers=admin())
        assert finished.status_code == 200, finished.get_json()
    finally:
        erp.close()


def seeded_database(kind: str, folder: Path, sandbox: RunningSandbox, cluster: PostgresCluster | None) -> str:
    """A seeded database: the SQLite file's path, or the URL of a PostgreSQL database used as a template."""
    if kind == "sqlite":
        seed(f"sqlite:///{folder / 'app.sqlite3'}", folder / "instance", sandbox)
        return str(folder / "app.sqlite3")
    assert cluster is not None
    url = cluster.create_database("seed")
    seed(url, folder / "instance", sandbox)
    return url


def copy_of(seeded: str, folder: Path, cluster: PostgresCluster | None) -> str:
    """A fresh copy of a seeded database, so one operation's deletes and changes do not steer the next."""
    if not seeded.startswith("postgresql"):
        shutil.copyfile(seeded, folder / "app.sqlite3")
        return f"sqlite:///{folder / 'app.sqlite3'}"
    import psycopg

    assert cluster is not None
    template, copy = seeded.rsplit("/", 1)[1], f"copy_{os.getpid()}_{folder.name}"[:63]
    with psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{template}"')
    return cluster.url(copy)


def point_connections_home(body: Any, sandbox: RunningSandbox, soap: RunningSoapSandbox) -> None:
    """Aim a generated connection at the ERPs on loopback (a generated host would be retried for seconds) with their
    demo login, so that discovery can succeed and its answer be checked too: the SoftOne sandbox, or the SOAP
    sandbox's Customer page, whose WSDL the SOAP discovery reads. A SOAP connection gets the `soap` connector (the
    generated pairs rarely match: every mismatch would stop at VALIDATION_ERROR)."""
    connection = body.get("connection") if isinstance(body, dict) else None
    if not isinstance(connection, dict):
        return
    if "baseUrl" in connection:
        connection.update(baseUrl=sandbox.url, username="demo", password="demo", appId="1001")
    if "wsdlUrl" in connection:
        connection.update(wsdlUrl=soap.page_url("Customer"), username="demo", password="demo")
        body["connector"] = "soap"
