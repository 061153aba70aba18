"""Fixtures for sync-run tests: a real SoftOne sandbox over HTTP and a migrated erp-sync on each database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from app_fixtures import customer_integration

from erp_sync.bootstrap import ErpSync
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=250, items=20, seed=7))
    yield running
    running.stop()


@pytest.fixture
def integration_id(erp: ErpSync, sandbox: RunningSandbox) -> int:
    return erp.integrations.create(customer_integration(sandbox.url)).id
