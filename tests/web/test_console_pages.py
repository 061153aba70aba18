"""The console's pages over HTTP against the sandbox: the overview, an integration's runs with their errors and
what to do, the buttons (run, dry run, pause, resume, delete) and the editor's form, which never shows a password."""

from __future__ import annotations

import re
from typing import Any

import pytest
from app_fixtures import API_TOKEN, customer_integration
from flask.testing import FlaskClient

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox


@pytest.fixture
def console(client: FlaskClient) -> FlaskClient:
    """The test client, signed in to the console."""
    signed_in = client
    form = signed_in.get("/login").get_data(as_text=True)
    signed_in.post("/login", data={"token": API_TOKEN, "csrf_token": _csrf(form)})
    return signed_in


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1) or found.group(2)


def post(console: FlaskClient, path: str, **form: str) -> Any:
    token = _csrf(console.get("/").get_data(as_text=True))
    return console.post(path, data={"csrf_token": token, **form}, follow_redirects=True)


def test_the_overview_lists_each_integration_with_its_state_schedule_and_greek_text_as_it_is(
        erp: ErpSync, console: FlaskClient, sandbox: RunningSandbox) -> None:
    erp.integrations.create(customer_integration(sandbox.url, name="πελάτες-αθήνα"))
    paused = erp.integrations.create(customer_integration(
        sandbox.url, name="paused-one", isActive=False, schedule={"cronExpression": "0 6 * * 1", "timezone": "UTC"}))
    erp.runner.run(paused.id, "api")
    page = console.get("/").get_data(as_text=True)
    assert "πελάτες-αθήνα" in page
    assert "Every 5 minutes" in page and "At 06:00, only on Monday" in page
    assert 'class="badge state-active"' in page and 'class="badge state-paused"' in page
    assert "not scheduled while paused" in page
    assert '<svg class="chart"' in page and "run 1 · succeeded" in page


def test_a_failed_run_shows_its_error_what_to_do_and_where_its_row_errors_are(
        erp: ErpSync, console: FlaskClient, sandbox: RunningSandbox) -> None:
    body = customer_integration(sandbox.url)
    body["mappings"][2] = {"source": "CUSTOMER.NAME", "target": "name", "type": "integer"}
    integration = erp.integrations.create(body).id
    run_id = erp.runner.run(integration, "api").run_id
    page = console.get(f"/integrations/{integration}").get_data(as_text=True)
    assert "TOO_MANY_ROW_ERRORS" in page and "What to do:" in page
    assert f'data-url="/api/runs/{run_id}/errors"' in page and "Row errors (20)" in page


def test_the_buttons_run_dry_run_pause_resume_and_delete_go_through_the_services(
        erp: ErpSync, console: FlaskClient, sandbox: RunningSandbox) -> None:
    integration = erp.integrations.create(customer_integration(sandbox.url)).id
    started = post(console, f"/integrations/{integration}/run", kind="dry")
    assert re.search(r"Run \d+ started \(a dry run: nothing is written\)", started.get_data(as_text=True))
    erp.dispatch.shutdown(wait=True)  # the run finishes
    page = console.get(f"/integrations/{integration}").get_data(as_text=True)
    assert re.search(r"Would insert <b>20</b>, update <b>0</b>, delete <b>0</b>, push <b>0</b>", page)
    paused = post(console, f"/integrations/{integration}/pause").get_data(as_text=True)
    assert "is paused" in paused and not erp.integrations.get(integration).spec.is_active
    post(console, f"/integrations/{integration}/resume")
    assert erp.integrations.get(integration).spec.is_active
    assert "Delete customers?" in console.get(f"/integrations/{integration}/delete").get_data(as_text=True)
    gone = post(console, f"/integrations/{integration}/delete").get_data(as_text=True)
    assert "customers is deleted" in gone and erp.integrations.list() == []


def test_the_editor_shows_the_stored_settings_but_never_the_password(erp: ErpSync, console: FlaskClient) -> None:
    body = customer_integration()
    body["connection"]["password"] = "s3cret-pw"
    integration = erp.integrations.create(body).id
    page = console.get(f"/integrations/{integration}/edit").get_data(as_text=True)
    assert "s3cret-pw" not in page
    assert 'value="http://127.0.0.1:9/s1services"' in page and 'value="*/5 * * * *"' in page
    assert "Stored, not shown: leave empty to keep it." in page
    assert f'data-save-url="/api/integrations/{integration}"' in page


def test_an_integration_that_does_not_exist_is_a_page_that_says_so(console: FlaskClient) -> None:
    response = console.get("/integrations/999")
    assert response.status_code == 404 and "integration 999" in response.get_data(as_text=True)


def test_the_editor_of_a_soap_integration_shows_its_wsdl_and_filters_as_the_editor_writes_them(
        erp: ErpSync, console: FlaskClient) -> None:
    from erp_sync.sandbox.soap.config import SoapSandboxConfig
    from erp_sync.sandbox.soap.server import start_soap_in_thread

    with start_soap_in_thread(SoapSandboxConfig(seed=1, customers=5, items=5)) as nav:
        body = customer_integration(
            name="nav-customers", connector="soap",
            connection={"profile": "nav_page", "wsdlUrl": nav.page_url("Customer"), "username": "demo",
                        "password": "demo"},
            source={"object": "Customer", "filters": [{"field": "No", "criteria": "C*|WEB*"},
                                                      {"field": "Blocked", "criteria": "<>Ship"}]},
            target={"table": "nav_customers", "createIfMissing": True},
            mappings=[{"source": "No", "target": "code"}, {"source": "Name", "target": "name"}], keys=["code"])
        integration = erp.integrations.create(body).id
    page = console.get(f"/integrations/{integration}/edit").get_data(as_text=True)
    assert f'value="{nav.page_url("Customer")}"' in page
    assert 'value="No=C*|WEB*; Blocked=&lt;&gt;Ship"' in page
    assert '<option value="soap" selected>' in page and '<option value="nav_page" selected>' in page


@pytest.mark.parametrize("path", ["/integrations/9223372036854775808", "/integrations/99999999999999999999/edit",
                                  "/integrations/2147483648/delete"])
def test_an_integration_id_beyond_any_row_is_not_found_not_a_crash(console: FlaskClient, path: str) -> None:
    answer = console.get(path)
    assert answer.status_code == 404
    assert b"does not exist" in answer.data
