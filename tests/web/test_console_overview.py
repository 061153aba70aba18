"""The console's overview at scale: it reads every integration in a fixed number of statements, however many
integrations there are, and still shows each one's own latest run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from app_fixtures import API_TOKEN, customer_integration
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, insert

from erp_sync.bootstrap import ErpSync
from erp_sync.db.models import RUNS


@pytest.fixture
def console(client: FlaskClient) -> FlaskClient:
    form = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found
    client.post("/login", data={"token": API_TOKEN, "csrf_token": found.group(1)})
    return client


def _add_integrations(erp: ErpSync, first: int, last: int, statuses: tuple[str, ...] = ("succeeded",)) -> list[int]:
    """Integrations `first`..`last - 1`, each with one run per status, oldest first."""
    ids = []
    for n in range(first, last):
        record = erp.integrations.create(customer_integration(
            name=f"overview-{n}", target={"table": f"overview_{n}", "createIfMissing": True}))
        _add_runs(erp, record.id, statuses)
        ids.append(record.id)
    return ids


def _add_runs(erp: ErpSync, integration_id: int, statuses: tuple[str, ...]) -> None:
    """One run per status, an hour apart, the last one an hour ago; the n-th took 100 + n ms."""
    now = erp.clock.now()
    with erp.engine.begin() as conn:
        for age, status in enumerate(statuses):
            started = now - timedelta(hours=len(statuses) - age)
            conn.execute(insert(RUNS).values(integration_id=integration_id, trigger="api", status=status,
                                             started_at=started, finished_at=started, duration_ms=100 + age))


@contextmanager
def _statements() -> Iterator[list[str]]:
    """Every SQL statement any engine sends while inside."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        sent.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(Engine, "before_cursor_execute", count)


def _overview_statements(console: FlaskClient) -> int:
    with _statements() as sent:
        page = console.get("/")
    assert page.status_code == 200
    return len(sent)


def test_the_overview_sends_as_many_statements_for_30_integrations_as_for_3(
        erp: ErpSync, console: FlaskClient) -> None:
    _add_integrations(erp, 0, 3, ("failed", "succeeded"))
    with_three = _overview_statements(console)
    _add_integrations(erp, 3, 30, ("failed", "succeeded"))
    with_thirty = _overview_statements(console)
    assert with_thirty == with_three, f"{with_three} statements for 3 integrations, {with_thirty} for 30"


def _row(page: str, integration_id: int) -> str:
    found = re.search(rf'<tr data-integration="{integration_id}">(.*?)</tr>', page, re.S)
    assert found, f"integration {integration_id} is not on the overview"
    return found.group(1)


def test_the_overview_shows_each_integrations_own_latest_run_whatever_its_status(
        erp: ErpSync, console: FlaskClient) -> None:
    recovered = _add_integrations(erp, 0, 1, ("failed", "succeeded"))[0]
    broken = _add_integrations(erp, 1, 2, ("succeeded", "failed"))[0]
    skipped = _add_integrations(erp, 2, 3, ("failed", "skipped"))[0]
    never = _add_integrations(erp, 3, 4, ())[0]
    page = console.get("/").get_data(as_text=True)
    assert 'class="badge ok">succeeded' in _row(page, recovered) and "101 ms" in _row(page, recovered)
    assert 'class="badge bad">failed' in _row(page, broken)
    assert "skipped" in _row(page, skipped) and "failed" not in _row(page, skipped)
    assert "never run" in _row(page, never)
    assert re.search(r'<span class="tile-value bad-text">1</span><span class="tile-label">last run failed', page)
