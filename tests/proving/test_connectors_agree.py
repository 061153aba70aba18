"""The SoftOne and the SOAP connector page one table to the same rows, whatever the names and the page sizes.

Both sandboxes hold the same customers: the SOAP sandbox's Customer records, and SoftOne CUSTOMER rows whose CODE
and NAME are set to each record's No and Name. Hypothesis draws the names (Greek and Latin text SoftOne's
Windows-1253 can carry) and each connector's page size; each connector's integration loads its own table, and the
two tables must equal each other and the ERP's records. ERP_SYNC_PROVING=deep runs 40 examples instead of 3.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest
from app_fixtures import customer_integration
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.sandbox.soap.config import SoapSandboxConfig
from erp_sync.sandbox.soap.server import RunningSoapSandbox, start_soap_in_thread

CUSTOMERS = 45
EXAMPLES = 40 if os.environ.get("ERP_SYNC_PROVING") == "deep" else 3
counter = itertools.count(1)


def _windows_1253(character: str) -> bool:
    try:
        character.encode("cp1253")
    except UnicodeEncodeError:
        return False
    return character.isprintable()


ALPHABET = [chr(c) for c in range(0x20, 0x3CF) if _windows_1253(chr(c))]
names = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=30).map(lambda n: " ".join(n.split()) or "x")


@pytest.fixture(scope="module")
def both() -> Iterator[tuple[RunningSandbox, RunningSoapSandbox]]:
    softone = start_in_thread(SandboxConfig(customers=CUSTOMERS, seed=4))
    nav = start_soap_in_thread(SoapSandboxConfig(seed=4, customers=CUSTOMERS, items=1))
    yield softone, nav
    softone.stop()
    nav.stop()


def _load(erp: ErpSync, body: dict[str, object]) -> dict[str, str]:
    integration = erp.integrations.create(body).id
    outcome = erp.runner.run(integration, "api", full=True)
    assert outcome.status == "succeeded", (outcome.error_code, outcome.error_message)
    table = body["target"]["table"]  # type: ignore[index]
    with erp.engine.connect() as conn:
        return {code: name for code, name in conn.execute(text(f"SELECT code, name FROM {table}"))}


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.lists(names, min_size=CUSTOMERS, max_size=CUSTOMERS), st.integers(1, 50), st.integers(1, 50))
def test_softone_and_soap_page_the_same_customers_to_the_same_rows(
        erp: ErpSync, both: tuple[RunningSandbox, RunningSoapSandbox], drawn: list[str], softone_page: int,
        soap_page: int) -> None:
    softone, nav = both
    numbers = [row["No"] for row in nav.app.state.rows("Customer")]
    trdrs = sorted(int(row["TRDR"]) for row in softone.app.state.rows("CUSTOMER"))
    for number, trdr, name in zip(numbers, trdrs, drawn, strict=True):
        nav.app.state.patch_row("Customer", number, {"Name": name})
        softone.app.state.patch_row("CUSTOMER", trdr, {"CODE": number, "NAME": name})
    k = next(counter)
    mappings = {"softone": [{"source": "CUSTOMER.CODE", "target": "code"},
                            {"source": "CUSTOMER.NAME", "target": "name"}],
                "soap": [{"source": "No", "target": "code"}, {"source": "Name", "target": "name"}]}
    from_softone = _load(erp, customer_integration(
        softone.url, name=f"s1-{k}", source={"object": "CUSTOMER", "pageSize": softone_page},
        target={"table": f"s1_{k}", "createIfMissing": True}, mappings=mappings["softone"], keys=["code"]))
    from_soap = _load(erp, customer_integration(
        name=f"nav-{k}", connector="soap", keys=["code"], mappings=mappings["soap"],
        connection={"profile": "nav_page", "wsdlUrl": nav.page_url("Customer"), "username": "demo",
                    "password": "demo"},
        source={"object": "Customer", "pageSize": soap_page}, target={"table": f"nav_{k}", "createIfMissing": True}))
    assert from_softone == from_soap == dict(zip(numbers, drawn, strict=True))
