"""Fixtures for connector tests: the scripted loopback peer and a session pool that is closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from connectors.peer import ScriptedServer
from connectors.soap_support import SoapSandboxControl

from erp_sync.connectors.softone import SessionPool
from erp_sync.sandbox.soap import RunningSoapSandbox, SoapSandboxConfig, start_soap_in_thread

SOAP_CUSTOMERS = 45


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()


@pytest.fixture
def pool() -> Iterator[SessionPool]:
    """Sessions for one test, with retry waits skipped."""
    sessions = SessionPool(sleep=lambda _: None)
    yield sessions
    sessions.close()


@pytest.fixture(scope="module")
def soap_sandbox() -> Iterator[RunningSoapSandbox]:
    """The SOAP sandbox over real HTTP, one per module."""
    with start_soap_in_thread(SoapSandboxConfig(seed=1, customers=SOAP_CUSTOMERS, items=25)) as running:
        yield running


@pytest.fixture
def soap_control(soap_sandbox: RunningSoapSandbox) -> Iterator[SoapSandboxControl]:
    """The SOAP sandbox's admin surface, the sandbox reset to its seeded records first."""
    control = SoapSandboxControl(soap_sandbox.admin_url)
    control.reset()
    yield control
    control.close()
