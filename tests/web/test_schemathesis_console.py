"""The console's pages and forms answer as api/console.yaml says, for inputs schemathesis generates from it, with a
signed-in session.

The console is HTML, outside the JSON contract, so it has its own small spec (api/console.yaml): form bodies,
text/html answers, redirects with their Location, the session cookie as an apiKey in a cookie, the CSRF token as a
form field. Every operation in it is called over HTTP on loopback against the server `erp-sync serve` runs
(waitress), over SQLite and PostgreSQL (ERP_SYNC_TEST_DATABASES picks as elsewhere), each on its own copy of the
seeded database of tests/web/schemathesis_served.py (integration 1 reads a SoftOne sandbox, run 1 has finished).
Every case carries the cookie of one real sign-in (`POST /login` over HTTP) and, in a form, that session's CSRF
token, as a browser would. Redirects are not followed: the 302 is the answer checked. Checks: no 5xx, only
documented statuses, content types and headers (a 302 has its Location), every JSON error's code one
api/errors.md lists, and no page but the sign-in sends the signed-in session back to `/login`. The sign-in
throttle's wait is left out (`SignInThrottle(sleep=...)`): every generated token is wrong, and each would wait up
to 10 s. ERP_SYNC_PROVING=deep raises the examples per operation from 12 to 200; derandomized and bounded.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import schemathesis_served as shared
from app_fixtures import API_TOKEN
from hypothesis import HealthCheck, settings
from postgres_cluster import PostgresCluster
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    status_code_conformance,
)
from schemathesis_served import API, DEEP, copy_of, error_code_is_documented, served

from erp_sync.web.console.session import COOKIE_NAME, CSRF_FIELD

MAX_EXAMPLES = 200 if DEEP else 12
CSRF_IN_PAGE = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          error_code_is_documented]
CONFIG = schemathesis.Config.from_dict({
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"}})
schema = schemathesis.openapi.from_path(API / "console.yaml", config=CONFIG)

sandbox, seeded = shared.sandbox, shared.seeded


@pytest.fixture
def base_url(seeded: tuple[str, PostgresCluster | None], tmp_path: Path) -> Iterator[str]:
    database, cluster = seeded
    with served(copy_of(database, tmp_path, cluster), tmp_path / "instance", sign_in_waits=False) as url:
        yield url


def sign_in(base_url: str) -> tuple[str, str]:
    """Sign in as a browser does: the sign-in page's CSRF token, then the form. The session cookie and its CSRF
    token (the cookie is signed, not stored, so it opens every served copy that shares the session key)."""
    with httpx.Client(base_url=base_url) as browser:
        page = browser.get("/login")
        answer = browser.post("/login", data={"token": API_TOKEN, CSRF_FIELD: _csrf(page.text)})
        assert answer.status_code == 302, answer.text[:300]
        overview = browser.get("/")
        assert overview.status_code == 200, "the signed-in session did not open the overview"
        return browser.cookies[COOKIE_NAME], _csrf(overview.text)


def _csrf(page: str) -> str:
    found = CSRF_IN_PAGE.search(page)
    assert found, "the page carries no <meta name=\"csrf-token\">"
    return found.group(1)


@pytest.fixture(scope="module")
def session(seeded: tuple[str, PostgresCluster | None], tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    database, cluster = seeded
    folder = tmp_path_factory.mktemp("sign-in")
    with served(copy_of(database, folder, cluster), folder / "instance") as url:
        return sign_in(url)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one server per operation, by design
def test_every_console_route_answers_as_its_spec_says_to_a_signed_in_session(
        case: Any, base_url: str, session: tuple[str, str]) -> None:
    cookie, csrf = session
    case.cookies = {**(case.cookies or {}), COOKIE_NAME: cookie}
    if isinstance(case.body, dict):
        case.body[CSRF_FIELD] = csrf
    response = case.call_and_validate(base_url=base_url, checks=CHECKS, allow_redirects=False, timeout=60)
    location = response.headers.get("Location", "")
    if case.operation.path != "/logout":
        assert not location.startswith("/login"), f"{case.operation.label}: the session was sent back to sign in"


def test_a_run_page_number_beyond_any_offset_the_database_takes_shows_no_runs_instead_of_failing(
        base_url: str, session: tuple[str, str]) -> None:
    """Found at the edge of the `page` api/console.yaml declares (a whole number from 1 up, no upper bound): a
    number past what SQLite's and PostgreSQL's OFFSET take answered 500 INTERNAL_ERROR."""
    cookie, _ = session
    for page in ("2147483648", "9223372036854775807", "99999999999999999999"):
        answer = httpx.get(f"{base_url}/integrations/1", params={"page": page}, cookies={COOKIE_NAME: cookie})
        assert answer.status_code == 200, (page, answer.text[:300])
        assert "text/html" in answer.headers["content-type"], page
