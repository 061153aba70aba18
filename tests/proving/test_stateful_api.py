"""The API over random sequences of calls: create, get, patch, sync, list runs, delete, in any order hypothesis picks.

A model (names and activity of the integrations that should exist, and their runs) is kept beside the real app,
and after every step the app agrees with it: the list holds exactly the model's integrations, no answer is a 5xx,
every error's code is in api/errors.md, a deleted integration is 404 everywhere, and every run of a live
integration is in a final state. The model is what this adds to the schemathesis state machine over the spec's
OpenAPI links (tests/web/test_schemathesis_stateful.py), which knows no expected state beyond the spec.
ERP_SYNC_PROVING=deep runs 100 sequences of up to 30 steps instead of 8 of up to 12.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import admin, customer_integration
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule, run_state_machine_as_test

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.web.app import create_app

DEEP = os.environ.get("ERP_SYNC_PROVING") == "deep"
ERRORS_MD = Path(__file__).resolve().parents[2] / "api" / "errors.md"
DOCUMENTED = frozenset(re.findall(r"^\| `([A-Z_]+)` \| \d{3} \|", ERRORS_MD.read_text(), flags=re.MULTILINE))
FINAL = {"succeeded", "succeeded_with_errors", "failed", "skipped", "abandoned"}
names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x3FF, blacklist_categories=("Cs", "Cc")),
                min_size=1, max_size=30).filter(lambda n: n == n.strip())


def checked(response: Any) -> dict[str, Any]:
    """The JSON body of an answer that is not a 5xx and, if it is an error, carries a documented code."""
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json() if response.status_code != 204 else {}
    if response.status_code >= 400:
        assert body["error"]["code"] in DOCUMENTED, body
    return dict(body or {})


class ApiMachine(RuleBasedStateMachine):
    integrations = Bundle("integrations")

    def __init__(self, client: FlaskClient, erp_url: str) -> None:
        super().__init__()
        self.client, self.erp_url = client, erp_url
        for item in checked(client.get("/api/integrations", headers=admin()))["data"]:
            checked(client.delete(f"/api/integrations/{item['id']}", headers=admin()))
        self.model: dict[int, dict[str, Any]] = {}
        self.deleted: set[int] = set()

    @rule(target=integrations, name=names)
    def create(self, name: str) -> int:
        answer = self.client.post("/api/integrations", json=customer_integration(self.erp_url, name=name),
                                  headers=admin())
        body = checked(answer)
        if any(item["name"] == name for item in self.model.values()):
            assert answer.status_code == 409 and body["error"]["code"] == "DUPLICATE_NAME"
            return -1
        assert answer.status_code == 201, body
        integration = int(body["data"]["id"])
        self.model[integration] = {"name": name, "isActive": True}
        return integration

    @rule(integration=integrations)
    def get(self, integration: int) -> None:
        answer = self.client.get(f"/api/integrations/{integration}", headers=admin())
        body = checked(answer)
        if integration in self.model:
            assert answer.status_code == 200
            assert {k: body["data"][k] for k in ("name", "isActive")} == self.model[integration]
        else:
            assert answer.status_code == 404

    @rule(integration=integrations, name=st.none() | names, active=st.none() | st.booleans())
    def patch(self, integration: int, name: str | None, active: bool | None) -> None:
        change = {k: v for k, v in (("name", name), ("isActive", active)) if v is not None} or {"isActive": True}
        answer = self.client.patch(f"/api/integrations/{integration}", json=change, headers=admin())
        body = checked(answer)
        if integration not in self.model:
            assert answer.status_code == 404
            return
        taken = name is not None and any(v["name"] == name for k, v in self.model.items() if k != integration)
        if taken:
            assert body["error"]["code"] == "DUPLICATE_NAME"
            return
        assert answer.status_code == 200, body
        self.model[integration].update(change)

    @rule(integration=integrations)
    def sync(self, integration: int) -> None:
        answer = self.client.post(f"/api/integrations/{integration}/sync?wait=true", headers=admin())
        checked(answer)
        assert answer.status_code == (200 if integration in self.model else 404)

    @rule(integration=integrations)
    def runs(self, integration: int) -> None:
        answer = self.client.get(f"/api/integrations/{integration}/runs", headers=admin())
        body = checked(answer)
        if integration in self.model:
            assert all(run["status"] in FINAL for run in body["data"]["items"])
        else:
            assert answer.status_code == 404

    @rule(integration=consumes(integrations))
    def delete(self, integration: int) -> None:
        answer = self.client.delete(f"/api/integrations/{integration}", headers=admin())
        checked(answer)
        if integration in self.model:
            assert answer.status_code in (200, 204)
            del self.model[integration]
            self.deleted.add(integration)
        else:
            assert answer.status_code == 404

    @invariant()
    def the_list_is_the_model(self) -> None:
        listed = checked(self.client.get("/api/integrations", headers=admin()))["data"]
        assert {item["id"]: item["name"] for item in listed} == {k: v["name"] for k, v in self.model.items()}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=20, seed=2))
    yield running
    running.stop()


def test_random_sequences_of_api_calls_keep_the_app_and_its_model_in_agreement(
        erp: ErpSync, sandbox: RunningSandbox) -> None:
    client = create_app(erp).test_client()
    run_state_machine_as_test(lambda: ApiMachine(client, sandbox.url), settings=settings(
        max_examples=100 if DEEP else 8, stateful_step_count=30 if DEEP else 12, deadline=None,
        derandomize=True, database=None, suppress_health_check=list(HealthCheck)))
