"""Cron endpoints: CRON_ALLOWED_IPS (X-Forwarded-For honoured only from TRUSTED_PROXIES) and CRON_SECRET_PREVIOUS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import CRON_SECRET, admin
from flask.testing import FlaskClient
from operations_support import build_frozen

from erp_sync.clock import FrozenClock
from erp_sync.web.app import create_app

ALLOWED = {"CRON_ALLOWED_IPS": "10.0.0.0/8, 2001:db8::/32", "TRUSTED_PROXIES": "127.0.0.1,172.16.0.0/12"}


@pytest.fixture
def guarded(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[FlaskClient]:
    erp = build_frozen(database_url, tmp_path / "instance", clock, CRON_SECRET_PREVIOUS="the-old-cron-secret-1234",
                       **ALLOWED)
    yield create_app(erp).test_client()
    erp.close()


def call(client: FlaskClient, remote: str, forwarded: str | None = None, secret: str = CRON_SECRET) -> int:
    headers = {"X-Cron-Secret": secret, **({"X-Forwarded-For": forwarded} if forwarded else {})}
    response = client.get("/api/cron/monitoring", headers=headers, environ_base={"REMOTE_ADDR": remote})
    if response.status_code == 403:
        assert response.get_json()["error"]["code"] == "FORBIDDEN"
        assert "CRON_ALLOWED_IPS" in response.get_json()["error"]["message"]
    return response.status_code


def test_callers_outside_the_allowed_networks_are_forbidden_even_with_the_secret(guarded: FlaskClient) -> None:
    assert call(guarded, "10.20.30.40") == 200
    assert call(guarded, "2001:db8::7") == 200
    assert call(guarded, "192.168.1.5") == 403
    assert call(guarded, "192.168.1.5", secret="wrong") == 403  # the address is refused before the secret is read
    assert call(guarded, "10.20.30.40", secret="wrong") == 401


def test_x_forwarded_for_counts_only_from_a_trusted_proxy(guarded: FlaskClient) -> None:
    assert call(guarded, "127.0.0.1") == 403  # the proxy itself is not an allowed caller
    assert call(guarded, "127.0.0.1", "10.1.2.3") == 200
    assert call(guarded, "192.168.1.5", "10.1.2.3") == 403  # anyone can write the header
    assert call(guarded, "127.0.0.1", "10.9.9.9, 172.16.0.1") == 200  # through two trusted proxies
    assert call(guarded, "127.0.0.1", "10.1.1.1, 8.8.8.8") == 403  # the client prepended an allowed address
    assert call(guarded, "127.0.0.1", "not-an-address") == 403


def test_the_previous_cron_secret_works_during_a_rotation_and_nothing_else_does(guarded: FlaskClient) -> None:
    assert call(guarded, "10.0.0.1", secret="the-old-cron-secret-1234") == 200
    response = guarded.get("/api/cron/monitoring", headers=admin("the-old-cron-secret-1234"),
                           environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert response.status_code == 200  # also as a bearer token
    assert call(guarded, "10.0.0.1", secret="another-secret") == 401
    assert guarded.get("/api/cron/monitoring", headers=admin(), environ_base={"REMOTE_ADDR": "10.0.0.1"}) \
        .status_code == 401


def test_without_an_allow_list_every_address_may_call(client: FlaskClient) -> None:
    assert call(client, "203.0.113.9") == 200
