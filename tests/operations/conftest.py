"""Fixtures for the operations tests: an erp-sync on a frozen clock, its HTTP client, a run history seeder and a
sandbox. The helpers live in tests/operations_support.py (a name of its own: `conftest` is ambiguous to import)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from operations_support import NOW, History, build_frozen

from erp_sync.bootstrap import ErpSync
from erp_sync.clock import FrozenClock
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.web.app import create_app


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def ops(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[ErpSync]:
    app = build_frozen(database_url, tmp_path / "instance", clock)
    yield app
    app.close()


@pytest.fixture
def history(ops: ErpSync) -> History:
    return History(ops)


@pytest.fixture
def client(ops: ErpSync) -> FlaskClient:
    return create_app(ops).test_client()


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=60, seed=5))
    yield running
    running.stop()
