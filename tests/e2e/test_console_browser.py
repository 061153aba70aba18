"""The console in a real browser (Debian's Chromium driven by Playwright) against a real `erp-sync serve` on the
embedded default: sign in, see the demo, set a second integration up through the editor, run it, pause it, sign
out; a wrong token and a request without its CSRF token are refused. An integration erp-sync paused itself after
failed runs shows why, and its last notification, on its page and on the overview.

Screenshots of every page go to `artifacts/console/` (git-ignored) for a reviewer to look at.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from app_fixtures import customer_integration
from operations.test_notifications import Receiver
from processes import ERP_SYNC, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]

if not CHROMIUM.exists():  # scripts/ensure-test-tools.sh installs it; CI must not skip silently
    if os.environ.get("CI"):
        pytest.fail("Chromium is missing at /usr/bin/chromium; scripts/ensure-test-tools.sh installs it",
                    pytrace=False)
    pytest.skip("Chromium is not installed at /usr/bin/chromium", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


@dataclass(frozen=True)
class Served:
    base: str
    token: str
    sandbox_url: str

    def api(self, method: str, path: str, **kwargs: object) -> dict:
        response = httpx.request(method, self.base + path, headers={"Authorization": f"Bearer {self.token}"},
                                 timeout=30, **kwargs)  # type: ignore[arg-type]
        return response.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _health(base: str) -> dict | None:
    try:
        response = httpx.get(f"{base}/healthz", timeout=2)
    except httpx.HTTPError:
        return None
    return response.json()["data"] if response.status_code == 200 else None


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("console")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ERP_SYNC_", "CRON_SECRET", "SYNC_TIMEOUT", "DATABASE_URL", "TRUSTED_PROXIES"))}
    port = _free_port()
    log = folder / "serve.log"
    server = subprocess.Popen([ERP_SYNC, "serve", "--port", str(port)], cwd=folder, env=env,
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        health = wait_for(lambda: _health(base), timeout=60)
        yield Served(base, (folder / "instance" / "api-token").read_text().strip(), health["sandbox"])
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log.read_text()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield launched
        launched.close()


def shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_an_operator_signs_in_sets_up_runs_and_pauses_an_integration_in_the_browser(
        served: Served, browser: object) -> None:
    expect = playwright.expect
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",  # type: ignore[attr-defined]
                                  timezone_id="America/New_York")
    page = context.new_page()
    page.set_default_timeout(20_000)

    # A wrong token is refused with a message, and slowed down.
    page.goto(served.base + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page.get_by_label("Admin token").fill("not-the-token")
    started = time.monotonic()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That token is not this server's admin token")
    assert time.monotonic() - started >= 1.0
    shot(page, "01-sign-in-refused")

    # The right token signs in; the overview shows the demo integration with its schedule in words.
    page.get_by_label("Admin token").fill(served.token)
    page.get_by_role("button", name="Sign in").click()
    demo = page.locator("tr", has=page.get_by_role("link", name="demo-customers"))
    expect(demo).to_contain_text("Every minute")
    cookie = next(c for c in context.cookies() if c["name"] == "erp_sync_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and not cookie["secure"]  # plain HTTP here
    for _ in range(60):  # the demo's first run starts at once; wait until the overview shows it succeeded
        if demo.get_by_text("succeeded").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    expect(demo).to_contain_text("succeeded")
    shot(page, "02-overview")

    # The editor: test the connection, pick the object and three fields, a key, a target table, a schedule.
    page.get_by_role("link", name="New integration").first.click()
    page.get_by_label("Name", exact=True).fill("console-customers")
    page.get_by_label("Base URL").fill(served.sandbox_url)
    page.get_by_label("User name").first.fill("demo")
    page.get_by_label("Password").first.fill("demo")
    for label, value in (("App ID", "1001"), ("Company", "1000"), ("Branch", "1000"), ("Module", "0"),
                         ("Ref ID", "1")):
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connected to Demo Company SA")
    page.get_by_label("ERP object").fill("CUSTOMER")
    page.get_by_label("ERP object").dispatch_event("change")
    expect(page.locator("#fields-object")).to_have_text("CUSTOMER")
    for name in ("CUSTOMER.TRDR", "CUSTOMER.CODE", "CUSTOMER.NAME"):
        page.get_by_label(f"Add {name}", exact=True).check()
    expect(page.locator("#fields-body")).to_contain_text("Επωνυμία")  # Greek captions show as they are
    page.get_by_role("button", name="Add the ticked fields to the mapping").click()
    page.get_by_label("Target column (row 1)").fill("erp_id")
    page.get_by_label("Key (row 1)").check()

    # Saving without a target table: the API's error appears beside the field it names.
    page.get_by_role("button", name="Create integration").click()
    expect(page.locator("#f-target-table-error")).to_be_visible()
    page.get_by_label("Target table").fill("console_customers")
    page.get_by_label("Create the table if it is missing").check()

    page.get_by_label("Cron expression").fill("61 * * * *")
    expect(page.locator("#f-schedule-cronExpression-error")).to_contain_text("minute")
    page.get_by_label("Cron expression").fill("30 6 * * 1-5")
    page.get_by_label("Time zone", exact=True).fill("America/New_York")
    preview = served.api("POST", "/api/schedule/preview",
                         json={"cronExpression": "30 6 * * 1-5", "timezone": "America/New_York", "count": 5})["data"]
    expect(page.locator("#schedule-description")).to_have_text(preview["description"])
    shown = page.locator("#schedule-next li")
    expect(shown).to_have_count(5)
    assert [item.get_attribute("data-utc") for item in shown.all()] == [run["utc"] for run in preview["nextRuns"]]
    shot(page, "03-editor")
    page.get_by_role("button", name="Create integration").click()

    # The new integration's page: run it now and see it succeed with its counts.
    expect(page.get_by_role("heading", name=re.compile("console-customers"))).to_be_visible()
    integration_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    saved = served.api("GET", f"/api/integrations/{integration_id}")["data"]
    assert [(m["source"], m["target"]) for m in saved["mappings"]] == [
        ("CUSTOMER.TRDR", "erp_id"), ("CUSTOMER.CODE", "code"), ("CUSTOMER.NAME", "name")]
    assert saved["keys"] == ["erp_id"] and saved["mappings"][0]["type"] == "integer"
    assert saved["schedule"] == {"cronExpression": "30 6 * * 1-5", "timezone": "America/New_York"}
    # Pages one at a time, each held back by the sandbox, so the run is seen running: its counts move in place.
    served.api("PATCH", f"/api/integrations/{integration_id}", json={"source": {"pageSize": 500, "requestsAhead": 1}})
    sandbox_admin = served.sandbox_url.rsplit("/", 1)[0] + "/_sandbox/faults"
    armed = httpx.post(sandbox_admin, json={"slow_page_seconds": {"seconds": 1.5, "times": 4}}, timeout=5)
    assert armed.status_code == 200, armed.text
    page.get_by_role("button", name="Run now").click()
    first_run = page.locator("tbody.run").first
    expect(first_run.locator('[data-field="status"]')).to_contain_text("running")
    page.evaluate("window.notReloaded = true")
    # Any count short of the whole 2,000 shows the row moved while running (a busy machine may skip a step).
    expect(first_run.locator('[data-count="fetched"]')).to_have_text(re.compile(r"^(500|1,000|1,500)$"),
                                                                      timeout=30_000)
    assert page.evaluate("window.notReloaded === true")  # refreshed in place, not by reloading the page
    expect(first_run.locator('[data-field="status"]')).to_have_text("succeeded", timeout=30_000)
    expect(first_run.locator('[data-count="inserted"]')).to_have_text("2,000")
    shot(page, "04-integration")

    # Pause it.
    page.get_by_role("button", name="Pause").click()
    expect(page.locator("h1 .badge")).to_have_text("paused")
    assert served.api("GET", f"/api/integrations/{integration_id}")["data"]["isActive"] is False

    # Changes without the CSRF token are refused, from a form and from the API, even with a live session.
    form = context.request.post(f"{served.base}/integrations/{integration_id}/resume", form={})
    api = context.request.post(f"{served.base}/api/integrations/{integration_id}/sync", data={})
    assert (form.status, api.status) == (403, 403)
    assert api.json()["error"]["field"] == "csrf_token"
    assert served.api("GET", f"/api/integrations/{integration_id}")["data"]["isActive"] is False

    # The overview at phone width, then sign out.
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 844})
    phone.goto(served.base + "/")
    expect(phone.get_by_role("link", name="console-customers")).to_be_visible()
    shot(phone, "05-overview-390")
    phone.close()
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    page.goto(served.base + "/")
    expect(page).to_have_url(re.compile(r"/login"))
    context.close()


def sign_in(context: object, served: Served, path: str = "/") -> object:
    page = context.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(20_000)
    page.goto(served.base + path)
    page.get_by_label("Admin token").fill(served.token)
    page.get_by_role("button", name="Sign in").click()
    return page


def test_an_integration_paused_after_failed_runs_shows_why_and_its_last_notification(
        served: Served, browser: object) -> None:
    expect = playwright.expect
    receiver = Receiver()
    try:
        # Wrong ERP password, paused by erp-sync after two failed runs, the pause announced to a webhook.
        body = customer_integration(served.sandbox_url, name="console-paused",
                                    target={"table": "console_paused", "createIfMissing": True},
                                    options={"pauseAfterFailures": 2},
                                    notifications=[{"type": "webhook", "url": receiver.url, "events": ["paused"]}])
        body["connection"]["password"] = "not-the-password"
        integration_id = served.api("POST", "/api/integrations", json=body)["data"]["id"]
        for _ in range(2):
            failed = served.api("POST", f"/api/integrations/{integration_id}/sync", json={"wait": True})["error"]
            run = failed["details"]["run"]
            assert run["status"] == "failed" and run["error"]["code"] == "ERP_BAD_CREDENTIALS", failed
        wait_for(lambda: receiver.events() == ["paused"], timeout=30)
        answer = wait_for(lambda: (lambda data: data if data["lastNotification"] else None)(
            served.api("GET", f"/api/integrations/{integration_id}")["data"]), timeout=30)
    finally:
        receiver.close()
    reason = answer["pausedReason"]
    assert answer["isActive"] is False and reason.startswith("paused by erp-sync after 2 failed runs in a row")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")  # type: ignore[attr-defined]
    page = sign_in(context, served, f"/integrations/{integration_id}")
    expect(page.locator("h1 .badge")).to_have_text("paused")
    expect(page.locator('[data-field="paused-reason"]')).to_contain_text(reason)
    delivery = page.locator('[data-field="last-notification"]')
    expect(delivery).to_contain_text("paused")
    expect(delivery).to_contain_text(f"delivered to {answer['lastNotification']['target']}")
    assert answer["lastNotification"]["target"].endswith("/***")
    assert "secret-token-123" not in page.content()  # the webhook URL's secret path never reaches the page
    shot(page, "06-paused-by-erp-sync")

    # The overview marks it paused, with the reason beside the badge.
    page.goto(served.base + "/")
    row = page.locator("tr", has=page.get_by_role("link", name="console-paused"))
    expect(row.locator(".badge.state-paused")).to_have_text("paused")
    expect(row.locator('[data-field="paused-reason"]')).to_have_text(reason)
    shot(page, "07-overview-paused")

    # Resuming clears the reason: the page no longer says erp-sync paused it.
    page.goto(f"{served.base}/integrations/{integration_id}")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator("h1 .badge")).to_have_text("active")
    expect(page.locator('[data-field="paused-reason"]')).to_have_count(0)
    assert served.api("GET", f"/api/integrations/{integration_id}")["data"]["pausedReason"] is None
    context.close()

