"""Fixtures for the HTTP tests: a small SoftOne sandbox on loopback and a test client of the real app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread
from erp_sync.web.app import create_app


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """The SoftOne sandbox with 20 customers, over real HTTP."""
    running = start_in_thread(SandboxConfig(customers=20))
    yield running
    running.stop()


@pytest.fixture
def client(erp: ErpSync) -> FlaskClient:
    """A test client of the app built on the `erp` fixture (no session: send the bearer token)."""
    return create_app(erp).test_client()
