"""The served erp-sync answers as api/openapi.yaml says, for inputs schemathesis generates from the spec itself.

Every operation in the spec (integrations, runs, cron, health, monitoring and metrics, the connection tests that
discover SoftOne objects and SOAP WSDLs) is called over HTTP on loopback against the server `erp-sync serve` runs
(waitress, `erp_sync/web/http_server.py`), over SQLite and PostgreSQL (the `pg_cluster` of tests/conftest.py;
ERP_SYNC_TEST_DATABASES picks the databases as elsewhere), with the admin token and both spellings of the cron
secret. Each operation gets its own copy of a database where integration 1 reads a SoftOne sandbox on loopback and
run 1 has finished, so the ids in the spec's examples exist; generated connections are pointed at that sandbox or
at a SOAP sandbox's page. Checks: no 5xx (but the ERP's 502/504), only documented statuses, documented content
types, bodies that match the documented schemas, and every error's code one api/errors.md lists.
ERP_SYNC_PROVING=deep raises the examples per operation from 12 to 200. The generation is deterministic
(derandomized, no example database) and bounded, so the run takes the same path every time; what it finds is a
real defect of the server or of the spec. What the three runs share is tests/web/schemathesis_served.py; the
stateful run over the spec's links is tests/web/test_schemathesis_stateful.py, the console's pages
tests/web/test_schemathesis_console.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import schemathesis_served as shared
from app_fixtures import admin
from hypothesis import HealthCheck, settings
from postgres_cluster import PostgresCluster
from schemathesis.specs.openapi.checks import unsupported_method
from schemathesis_served import API, API_CONFIG, CONTRACT_CHECKS, DEEP, copy_of, point_connections_home, served

from erp_sync.sandbox import RunningSandbox
from erp_sync.sandbox.soap import RunningSoapSandbox

MAX_EXAMPLES = 200 if DEEP else 12
CHECKS = [*CONTRACT_CHECKS, unsupported_method]  # a method a path lacks is 405 with an Allow header
CONFIG = schemathesis.Config.from_dict({
    **API_CONFIG, "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"}})

sandbox, soap_sandbox, seeded = shared.sandbox, shared.soap_sandbox, shared.seeded


@pytest.fixture
def base_url(seeded: tuple[str, PostgresCluster | None], tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the seeded database, served over HTTP for one operation."""
    database, cluster = seeded
    with served(copy_of(database, tmp_path, cluster), tmp_path / "instance") as url:
        yield url


schema = schemathesis.openapi.from_path(API / "openapi.yaml", config=CONFIG)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one server per operation, by design
def test_every_operation_answers_as_the_spec_says(case: Any, base_url: str, sandbox: RunningSandbox,
                                                  soap_sandbox: RunningSoapSandbox) -> None:
    point_connections_home(case.body, sandbox, soap_sandbox)
    case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=60)


def test_soap_discovery_of_an_object_no_xml_element_can_be_named_is_unknown_object(
        base_url: str, soap_sandbox: RunningSoapSandbox) -> None:
    """Found by the deep run: `object` `$Ý>` (no XML element can be called that) answered 500 INTERNAL_ERROR from the
    WSDL lookup instead of UNKNOWN_OBJECT."""
    connection = {"profile": "nav_page", "wsdlUrl": soap_sandbox.page_url("Customer"), "username": "demo",
                  "password": "demo"}
    answer = httpx.post(f"{base_url}/api/connections/test", headers=admin(), timeout=60,
                        json={"connector": "soap", "connection": connection, "object": "$Ý>"})
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["error"]["code"] == "UNKNOWN_OBJECT"
    assert "Customer" in answer.json()["error"]["details"]["available"]
