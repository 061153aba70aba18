"""The shape of a SOAP integration: its connection (profiles, wsdlUrl, auth, timeouts), its source (filters as a
list, SoftOne's fields refused), and the SoftOne source keeping its filter string."""

from __future__ import annotations

from typing import Any

import pytest

from erp_sync.domain.integration import merge_patch, parse_spec
from erp_sync.errors import ValidationError


def soap_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "nav-customers", "connector": "soap",
        "connection": {"profile": "nav_page", "wsdlUrl": "https://nav.example.com:7047/DynamicsNAV/WS/CRONUS/Page/Customer",
                       "username": "ws", "password": "secret"},
        "source": {"object": "Customer", "cursorField": "Last_Date_Modified",
                   "filters": [{"field": "Blocked", "criteria": "<>All"}]},
        "target": {"table": "customers"},
        "mappings": [{"source": "No", "target": "code"}, {"source": "Name", "target": "name"},
                     {"source": "Balance_LCY", "target": "balance", "type": "decimal", "readOnly": True}],
        "keys": ["code"],
        "schedule": {"cronExpression": "*/5 * * * *"},
    }
    body.update(changes)
    return body


def refused(body: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_spec(body)
    return caught.value


def test_a_nav_page_integration_parses_with_its_defaults_and_hides_the_password() -> None:
    spec = parse_spec(soap_body())
    public = spec.public_dict()
    assert public["connection"] == {
        "profile": "nav_page", "wsdlUrl": "https://nav.example.com:7047/DynamicsNAV/WS/CRONUS/Page/Customer",
        "username": "ws", "auth": "basic", "timeoutSeconds": 60, "tlsVerify": True, "serverTimezone": "UTC",
        "hasPassword": True, **{name: None for name in (
            "service", "port", "readOperation", "filterParameter", "pageSizeParameter", "bookmarkParameter",
            "offsetParameter", "recordPath", "keyElement", "recordKeyElement", "createOperation", "updateOperation")}}
    assert public["source"]["filters"] == [{"field": "Blocked", "criteria": "<>All"}]
    assert "mode" not in public["source"] and "requestsAhead" not in public["source"]
    assert spec.password == "secret" and "secret" not in str(public)


@pytest.mark.parametrize(("connection", "field"), [
    ({"wsdlUrl": "file:///etc/passwd"}, "connection.wsdlUrl"),
    ({"timeoutSeconds": 0}, "connection.timeoutSeconds"),
    ({"timeoutSeconds": 601}, "connection.timeoutSeconds"),
    ({"timeoutSeconds": "60"}, "connection.timeoutSeconds"),
    ({"auth": "kerberos"}, "connection.auth"),
    ({"profile": "wsdl"}, "connection.profile"),
    ({"listOperation": "ReadMultiple"}, "connection.listOperation"),
    ({"readOperation": "ReadMultiple"}, "connection"),
])
def test_a_bad_connection_is_refused_naming_the_field(connection: dict[str, Any], field: str) -> None:
    base = soap_body()["connection"]
    error = refused(soap_body(connection={**base, **connection}))
    assert error.code == "VALIDATION_ERROR" and error.field == field, error.message


def test_a_generic_profile_needs_its_read_operation_and_key_and_one_way_to_page() -> None:
    generic = {"profile": "generic", "wsdlUrl": "http://erp.example.com/ws?wsdl", "readOperation": "ListCustomers",
               "keyElement": "Id", "bookmarkParameter": "after", "recordPath": "Customers.Customer"}
    assert parse_spec(soap_body(connection=generic)).connection.record_path == "Customers.Customer"
    assert "keyElement" in refused(soap_body(connection={**generic, "keyElement": None})).message
    both = refused(soap_body(connection={**generic, "offsetParameter": "skip"}))
    assert "not both" in both.message


@pytest.mark.parametrize(("source", "field"), [
    ({"mode": "browser"}, "source.mode"),
    ({"list": "Λίστα"}, "source.list"),
    ({"requestsAhead": 2}, "source.requestsAhead"),
    ({"filters": "CUSTOMER.ISACTIVE=1"}, "source.filters"),
    ({"filters": [{"field": "Blocked"}]}, "source.filters[0].criteria"),
])
def test_softone_source_fields_and_a_filter_string_are_refused_for_soap(source: dict[str, Any], field: str) -> None:
    base = soap_body()["source"]
    error = refused(soap_body(source={**base, **source}))
    assert error.field == field, error.message


def test_a_softone_source_keeps_its_filter_string_and_refuses_a_list() -> None:
    softone = {"name": "s1", "connection": {"baseUrl": "https://x.oncloud.gr/s1services", "username": "u",
                                            "password": "p", "appId": "1001"},
               "source": {"object": "CUSTOMER", "filters": "CUSTOMER.ISACTIVE=1"}, "target": {"table": "t"},
               "mappings": [{"source": "CUSTOMER.CODE", "target": "code"}], "keys": ["code"],
               "schedule": {"cronExpression": "@daily"}}
    assert parse_spec(softone).source.filters == "CUSTOMER.ISACTIVE=1"
    error = refused({**softone, "source": {"object": "CUSTOMER", "filters": [{"field": "CODE", "criteria": "1"}]}})
    assert error.field == "source.filters" and "string" in error.message


def test_a_patch_of_a_soap_integration_keeps_its_password_and_filters() -> None:
    spec = parse_spec(soap_body())
    patched = merge_patch(spec, {"source": {"pageSize": 500}, "connection": {"timeoutSeconds": 30}})
    assert patched.password == "secret" and patched.connection.timeout_seconds == 30
    assert patched.source.filters == spec.source.filters and patched.source.page_size == 500
