"""Fixtures for the sandbox tests: one real sandbox server per module, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sandbox_support import CUSTOMERS, ITEMS, S1, START_TIME, TestClock

from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread


@pytest.fixture(scope="module")
def clock() -> TestClock:
    return TestClock(START_TIME)


@pytest.fixture(scope="module")
def sandbox(clock: TestClock) -> Iterator[RunningSandbox]:
    config = SandboxConfig(customers=CUSTOMERS, items=ITEMS, seed=7, now=clock.now)
    with start_in_thread(config) as running:
        yield running


@pytest.fixture
def s1(sandbox: RunningSandbox, clock: TestClock) -> Iterator[S1]:
    """A fresh client against a sandbox just reset to its seeded state, clock at START_TIME."""
    clock.set(START_TIME)
    sandbox.app.state.reset(sessions=True)
    client = S1(sandbox)
    yield client
    client.http.close()


@pytest.fixture
def logged_in(s1: S1) -> S1:
    s1.login()
    return s1
