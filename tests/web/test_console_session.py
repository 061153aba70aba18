"""The console's sign-in: the session cookie's flags, CSRF on every change, wrong tokens slowed down, the idle
timeout, and the session opening the admin API for the console's own calls (bearer calls unchanged)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import API_TOKEN, SECRET_KEY, admin, customer_integration, make_settings
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync, build
from erp_sync.clock import FrozenClock
from erp_sync.db.migrate import upgrade
from erp_sync.errors import ConfigurationError
from erp_sync.settings import load_settings
from erp_sync.web.app import create_app
from erp_sync.web.console.throttle import SignInThrottle

SESSION_KEY = "a-session-key-for-the-tests-0123456789"


class FakeTime:
    """A monotonic clock that a throttle's sleep moves forward, so waiting costs the test nothing."""

    def __init__(self) -> None:
        self.now = 1000.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 12, 5, 9, 0, tzinfo=UTC))


def _erp(database_url: str, folder: Path, clock: FrozenClock, **overrides: str) -> ErpSync:
    upgrade(database_url)
    settings = make_settings(database_url, folder / "instance", ERP_SYNC_SESSION_KEY=SESSION_KEY, **overrides)
    return build(settings, clock=clock, with_scheduler=False)


@pytest.fixture
def erp_app(database_url: str, tmp_path: Path, clock: FrozenClock) -> Iterator[tuple[ErpSync, Flask]]:
    erp = _erp(database_url, tmp_path, clock, TRUSTED_PROXIES="10.0.0.1")
    with erp.engine.begin() as conn:
        conn.execute(text("CREATE TABLE customers (erp_id BIGINT NOT NULL, code VARCHAR(25), name VARCHAR(200), "
                          "vat_number VARCHAR(20), email VARCHAR(200), city VARCHAR(100), is_active BOOLEAN, "
                          "erp_updated_at VARCHAR(40), CONSTRAINT uq_customers_erp_id UNIQUE (erp_id))"))
    app = create_app(erp)
    yield erp, app
    erp.close()


@pytest.fixture
def client(erp_app: tuple[ErpSync, Flask]) -> FlaskClient:
    return erp_app[1].test_client()


def csrf_of(page: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, "the page carries no csrf_token field"
    return found.group(1)


def sign_in(client: FlaskClient, token: str = API_TOKEN, **environ: Any) -> Any:
    form = client.get("/login", **environ)
    return client.post("/login", data={"token": token, "csrf_token": csrf_of(form)}, **environ)


def set_cookie_header(response: Any) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("erp_sync_session="))


def test_signing_in_sets_an_httponly_samesite_strict_cookie_that_is_not_secure_over_plain_http(
        client: FlaskClient) -> None:
    assert client.get("/").headers["Location"] == "/login?next=/"
    response = sign_in(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = set_cookie_header(response)
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    assert client.get("/").status_code == 200


@pytest.mark.parametrize(("remote", "forwarded", "base", "secure"), [
    ("10.0.0.1", "https", "http://localhost", True),     # the trusted proxy says the browser spoke HTTPS
    ("10.0.0.1", "http", "http://localhost", False),
    ("10.6.6.6", "https", "http://localhost", False),    # anyone else's X-Forwarded-Proto is ignored
    ("10.6.6.6", None, "https://localhost", True),       # HTTPS straight to erp-sync
])
def test_the_cookie_is_secure_when_the_request_came_over_https_as_the_trusted_proxy_says(
        client: FlaskClient, remote: str, forwarded: str | None, base: str, secure: bool) -> None:
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    environ = {"environ_base": {"REMOTE_ADDR": remote}, "headers": headers, "base_url": base}
    response = sign_in(client, **environ)
    assert response.status_code == 302
    assert ("; Secure" in set_cookie_header(response)) is secure


def test_a_wrong_token_is_refused_with_a_message_and_each_wrong_try_from_an_address_waits_longer(
        erp_app: tuple[ErpSync, Flask], client: FlaskClient) -> None:
    fake = FakeTime()
    erp_app[1].extensions["erp_sync_console_throttle"] = SignInThrottle(fake.sleep, fake.monotonic)
    waited = []
    for _ in range(4):
        before = fake.now
        response = sign_in(client, token="guess")
        waited.append(fake.now - before)
        assert response.status_code == 401
        assert "That token is not this server's admin token" in response.get_data(as_text=True)
    assert waited == [1.0, 2.0, 4.0, 8.0]
    assert client.get("/").status_code == 302  # nobody is signed in
    assert sign_in(client).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/"))})
    before = fake.now
    sign_in(client, token="guess")
    assert fake.now - before == 1.0  # a right token started the address over


def test_a_sign_in_without_its_csrf_token_is_refused_and_signs_nobody_in(client: FlaskClient) -> None:
    client.get("/login")
    response = client.post("/login", data={"token": API_TOKEN})
    assert response.status_code == 403
    assert "no valid CSRF token" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(("action", "form"), [
    ("pause", {}), ("run", {"kind": "now"}), ("delete", {}),
])
@pytest.mark.parametrize("token", [None, "forged"])
def test_a_console_change_without_the_sessions_csrf_token_is_refused_and_changes_nothing(
        erp_app: tuple[ErpSync, Flask], client: FlaskClient, action: str, form: dict[str, str],
        token: str | None) -> None:
    erp = erp_app[0]
    integration = erp.integrations.create(customer_integration()).id
    sign_in(client)
    data = {**form, **({"csrf_token": token} if token else {})}
    response = client.post(f"/integrations/{integration}/{action}", data=data)
    assert response.status_code == 403
    record = erp.integrations.get(integration)
    assert record.spec.is_active and erp.monitoring.runs(integration, 10, 0)[1] == 0


def test_an_idle_session_times_out_and_the_sign_in_page_says_so(client: FlaskClient, clock: FrozenClock) -> None:
    sign_in(client)
    clock.advance(timedelta(minutes=29))
    assert client.get("/").status_code == 200  # activity keeps it alive
    clock.advance(timedelta(minutes=31))
    response = client.get("/")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert "signed out after 30 minutes without activity" in page.get_data(as_text=True)


def test_a_new_admin_token_signs_every_session_out(database_url: str, tmp_path: Path, clock: FrozenClock,
                                                   client: FlaskClient) -> None:
    sign_in(client)
    cookie = client.get_cookie("erp_sync_session")
    assert cookie is not None
    rotated = _erp(database_url, tmp_path / "rotated", clock, ERP_SYNC_API_TOKEN="a-new-admin-token")
    try:
        other = create_app(rotated).test_client()
        other.set_cookie("erp_sync_session", cookie.value)
        assert other.get("/").status_code == 302
        assert other.get("/api/integrations").status_code == 401
    finally:
        rotated.close()


def test_the_session_opens_the_admin_api_and_a_change_through_it_needs_the_csrf_header(
        erp_app: tuple[ErpSync, Flask], client: FlaskClient) -> None:
    assert client.get("/api/integrations").status_code == 401
    sign_in(client)
    assert client.get("/api/integrations").status_code == 200
    body = {"cronExpression": "0 * * * *", "timezone": "UTC"}
    refused = client.post("/api/schedule/preview", json=body)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == {**refused.get_json()["error"], "code": "FORBIDDEN", "field": "csrf_token"}
    token = csrf_of(client.get("/"))
    assert client.post("/api/schedule/preview", json=body, headers={"X-CSRF-Token": token}).status_code == 200


def test_bearer_calls_need_no_csrf_and_a_wrong_bearer_is_not_rescued_by_a_session(client: FlaskClient) -> None:
    body = {"cronExpression": "0 * * * *", "timezone": "UTC"}
    assert client.post("/api/schedule/preview", json=body, headers=admin()).status_code == 200
    sign_in(client)
    assert client.get("/api/integrations", headers=admin("wrong")).status_code == 401


@pytest.mark.parametrize(("asked", "lands"), [
    ("/integrations/new", "/integrations/new"), ("//elsewhere.example/x", "/"), ("https://elsewhere.example/", "/"),
])
def test_signing_in_returns_to_the_page_asked_for_and_never_to_another_site(
        client: FlaskClient, asked: str, lands: str) -> None:
    form = client.get("/login", query_string={"next": asked})
    response = client.post("/login", data={"token": API_TOKEN, "csrf_token": csrf_of(form), "next": asked})
    assert response.headers["Location"] == lands


def test_production_without_a_session_key_refuses_to_serve_the_console_and_names_the_variable(
        tmp_path: Path) -> None:
    env = {"ERP_SYNC_ENV": "production", "ERP_SYNC_INSTANCE_DIR": str(tmp_path),
           "ERP_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'app.sqlite3'}",
           "ERP_SYNC_API_TOKEN": "a" * 40, "CRON_SECRET": "c" * 40,
           "ERP_SYNC_SECRET_KEYS": SECRET_KEY}
    settings = load_settings(env)
    assert settings.session_key is None and not (tmp_path / "session-key").exists()
    erp = build(settings, with_scheduler=False)
    try:
        with pytest.raises(ConfigurationError) as refused:
            create_app(erp)
    finally:
        erp.close()
    assert refused.value.field == "ERP_SYNC_SESSION_KEY"
    assert "ERP_SYNC_SESSION_KEY_FILE" in refused.value.message


def test_development_generates_the_session_key_once_into_the_instance_folder(tmp_path: Path) -> None:
    first = load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path)})
    assert str(tmp_path / "session-key") in first.generated
    assert oct((tmp_path / "session-key").stat().st_mode & 0o777) == "0o600"
    again = load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path)})
    assert again.session_key == first.session_key and len(first.session_key or "") >= 32
    given = load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path), "ERP_SYNC_SESSION_KEY": "shared-by-replicas"})
    assert given.session_key == "shared-by-replicas"
