"""Fixtures for scheduling tests over HTTP: a small sandbox and the API of the database's erp-sync (no scheduler)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.web.app import create_app


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=50, seed=4))
    yield running
    running.stop()


@pytest.fixture
def client(erp: ErpSync) -> FlaskClient:
    return create_app(erp).test_client()
