"""Fixtures for connector tests: the scripted loopback peer and a session pool that is closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from connectors.peer import ScriptedServer

from erp_sync.connectors.softone import SessionPool


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
