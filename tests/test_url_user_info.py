"""A password written into an ERP URL (`http://user:PASSWORD@host/s1services`) reaches no log line, run record or
error message: every URL shown loses its user info."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest
from app_fixtures import customer_integration
from tests_support import run_row

from erp_sync.bootstrap import ErpSync
from erp_sync.connectors.base import split_user_info, url_without_secrets
from erp_sync.sandbox import RunningSandbox, SandboxConfig, start_in_thread

SECRET = "SECRETPW"


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(customers=30, seed=6))
    yield running
    running.stop()


def with_user_info(url: str) -> str:
    return url.replace("http://", f"http://erp-user:{SECRET}@", 1)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records)


def test_a_run_against_a_url_with_a_password_logs_and_records_it_nowhere(
        erp: ErpSync, sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    spec = customer_integration(with_user_info(sandbox.url))
    integration = erp.integrations.create(spec).id
    outcome = erp.runner.run(integration, "cli")
    assert outcome.ok, outcome.error_message
    assert any("SoftOne login as demo on " in r.getMessage() for r in caplog.records)
    assert SECRET not in everything_logged(caplog)
    assert SECRET not in str(run_row(erp, outcome.run_id))


def test_an_unreachable_url_with_a_password_is_named_without_it_in_the_error_and_the_log(
        erp: ErpSync, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    url = with_user_info(f"http://127.0.0.1:{closed_port()}/s1services")
    integration = erp.integrations.create(customer_integration(url)).id
    outcome = erp.runner.run(integration, "cli")
    assert outcome.error_code == "ERP_UNAVAILABLE"
    assert f"unreachable at {url_without_secrets(url)} " in (outcome.error_message or "")
    assert SECRET not in f"{outcome.error_message} {outcome.details}" + everything_logged(caplog)
    assert SECRET not in str(run_row(erp, outcome.run_id))


@pytest.mark.parametrize(("url", "shown"), [
    ("http://user:pw@erp.example.com:8080/s1services?token=x#top", "http://erp.example.com:8080/s1services"),
    ("https://user@erp.example.com/s1services", "https://erp.example.com/s1services"),
    ("https://erp.example.com/s1services", "https://erp.example.com/s1services"),
    ("http://[::1]:8765/s1services", "http://[::1]:8765/s1services"),
])
def test_a_url_is_shown_without_user_info_query_or_fragment(url: str, shown: str) -> None:
    assert url_without_secrets(url) == shown


def test_user_info_taken_out_of_a_url_becomes_the_basic_auth_pair_httpx_would_have_sent() -> None:
    assert split_user_info("http://erp%40corp:p%3Aw@erp.example.com/s1services?x=1") == (
        "http://erp.example.com/s1services?x=1", ("erp@corp", "p:w"))
    assert split_user_info("http://erp.example.com/s1services") == ("http://erp.example.com/s1services", None)
