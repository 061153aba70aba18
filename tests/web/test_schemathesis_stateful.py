"""Chains of calls along the links api/openapi.yaml declares, run by schemathesis's state machine over HTTP.

The spec's links say how one answer feeds the next call: create -> get / patch / sync / runs / schedule / delete,
get and patch -> sync / runs / delete, sync -> the run (its row errors and conflicts) and the integration's runs,
delete -> get (gone). Schemathesis walks them in scenarios of a few steps against erp-sync served over HTTP
(waitress, as `erp-sync serve` runs it) on SQLite and PostgreSQL (ERP_SYNC_TEST_DATABASES picks as elsewhere), each
scenario on its own server and copy of the seeded database of tests/web/schemathesis_served.py. Every answer is
checked as in tests/web/test_schemathesis.py (no 5xx but the ERP's 502/504, documented statuses, content types and
schemas, error codes api/errors.md lists), and across steps: a created integration can be read back, and a deleted
one answers 404 wherever a link leads to it; the run fails if the scenarios never got through create, sync, runs
and delete. A create keeps its generated name but reads the SoftOne sandbox into the test's `customers` table (a
generated body is refused by the validation almost always, and the chain would stop at its first step;
tests/web/test_schemathesis.py fuzzes the create itself), and a sync waits for its run (a background run would race
the next step, and hypothesis needs a scenario to meet the same answers when it replays it). Bounded and
derandomized: 12 scenarios of up to 8 steps per database in `make test`,
ERP_SYNC_PROVING=deep 100 of up to 12. tests/proving/test_stateful_api.py keeps its hand-written model beside it.
"""

from __future__ import annotations

from itertools import count
from pathlib import Path
from typing import Any

import schemathesis
import schemathesis_served as shared
from app_fixtures import customer_integration
from hypothesis import HealthCheck, Phase, settings
from postgres_cluster import PostgresCluster
from schemathesis.specs.openapi.checks import ensure_resource_availability, use_after_free
from schemathesis_served import API, API_CONFIG, CONTRACT_CHECKS, DEEP, copy_of, point_connections_home, served

from erp_sync.sandbox import RunningSandbox
from erp_sync.sandbox.soap import RunningSoapSandbox

SCENARIOS, STEPS = (100, 12) if DEEP else (12, 8)
CHECKS = [*CONTRACT_CHECKS, ensure_resource_availability, use_after_free]
CONFIG = schemathesis.Config.from_dict({
    **API_CONFIG, "generation": {"deterministic": True, "database": "none"},
    "phases": {"stateful": {"inference": {"algorithms": []},  # the spec's own links, nothing guessed
                           "generation": {"mode": "positive"}}},  # test_schemathesis.py sends the invalid
})
schema = schemathesis.openapi.from_path(API / "openapi.yaml", config=CONFIG)

sandbox, soap_sandbox, seeded = shared.sandbox, shared.soap_sandbox, shared.seeded


def _steer(case: Any, sandbox: RunningSandbox, soap: RunningSoapSandbox) -> None:
    """A create that can succeed, so the chain goes on; a sync that answers when its run has ended, so a scenario
    replayed meets the same state (a background run would race the next step); connections aimed at loopback."""
    operation = case.operation.definition.raw.get("operationId")
    if operation == "createIntegration":
        name = case.body.get("name") if isinstance(case.body, dict) else None
        case.body = customer_integration(sandbox.url, name=name if isinstance(name, str) and name else "customers")
    elif operation == "syncIntegration":
        case.query = {**(case.query or {}), "wait": "true"}
        if isinstance(case.body, dict):
            case.body["wait"] = True
    point_connections_home(case.body, sandbox, soap)


def test_linked_calls_keep_the_contract_and_a_deleted_integration_stays_gone(
        seeded: tuple[str, PostgresCluster | None], sandbox: RunningSandbox, soap_sandbox: RunningSoapSandbox,
        tmp_path: Path) -> None:
    database, cluster = seeded
    scenarios, reached = count(1), set[tuple[str, int]]()

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        """Each scenario on its own server and copy of the seeded database: a scenario replayed meets the same
        state, as hypothesis needs."""

        def setup(self) -> None:
            folder = tmp_path / f"scenario-{next(scenarios)}"
            folder.mkdir()
            self.server = served(copy_of(database, folder, cluster), folder / "instance")
            self.base_url = self.server.__enter__()

        def teardown(self) -> None:
            self.server.__exit__(None, None, None)
            super().teardown()

        def before_call(self, case: Any) -> None:
            _steer(case, sandbox, soap_sandbox)

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            reached.add((case.operation.definition.raw["operationId"], response.status_code))

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": self.base_url, "timeout": 60}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs, recorder=self.recorder)

    Machine.run(settings=settings(max_examples=SCENARIOS, stateful_step_count=STEPS, derandomize=True,
                                  deadline=None, database=None, phases=[Phase.generate],
                                  suppress_health_check=list(HealthCheck)))
    walked = {("createIntegration", 201), ("syncIntegration", 200), ("listRuns", 200), ("deleteIntegration", 200)}
    assert walked <= reached, f"the scenarios never reached {sorted(walked - reached)}: the links lead nowhere"
