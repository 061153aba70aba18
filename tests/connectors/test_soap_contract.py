"""The SOAP connector against the SOAP sandbox over real HTTP: the parts of the connector contract that apply to
a stateless service (paging, filters, pushes, refusals, credentials, encodings), on both NAV pages."""

from __future__ import annotations

import pytest
from connectors.contract import ContractCase, StatelessConnectorContract
from connectors.soap_support import SoapSandboxControl, soap_config

from erp_sync.connectors.base import Query
from erp_sync.connectors.soap import SoapConnector
from erp_sync.sandbox.soap import RunningSoapSandbox

PAGES = {
    "Customer": {"text": "Name", "writable": "Address", "insert": {"Name": "Νέος Πελάτης από το erp-sync"},
                 "reference": "Home_Page"},
    "Item": {"text": "Description", "writable": "Description", "insert": {"Description": "Νέο είδος"},
             "reference": "GTIN"},
}


@pytest.fixture(params=[("Customer", "nav_page"), ("Item", "nav_page"), ("Customer", "generic")],
                ids=["Customer", "Item", "Customer-generic-profile"])
def case(request: pytest.FixtureRequest, soap_sandbox: RunningSoapSandbox,
         soap_control: SoapSandboxControl) -> ContractCase:
    page, profile = request.param
    spec = PAGES[page]

    def connect(password: str | None = None) -> SoapConnector:
        # the generic profile, with NAV's names given by hand, reads through zeep's objects instead of the XML
        return SoapConnector(soap_config(soap_sandbox, page, password=password, profile_name=profile))

    return ContractCase(
        connect=connect, server=soap_control, object_name=page, table=page, key_field="No",
        query=Query(object=page, page_size=10),
        empty_query=Query(object=page, criteria=(("No", "NO-SUCH-RECORD"),), page_size=10),
        text_column=str(spec["text"]), text_field=str(spec["text"]), writable_field=str(spec["writable"]),
        insert_values=dict(spec["insert"]),  # type: ignore[arg-type]
        reference_field=str(spec["reference"]),
    )


class TestSoapConnectorContract(StatelessConnectorContract):
    pass
