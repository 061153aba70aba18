"""`erp-sync serve` as a newcomer runs it (the README's first command), and a scheduler in its own process."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest
from app_fixtures import API_TOKEN, CRON_SECRET, SECRET_KEY, build_app, customer_integration
from folders import read_only
from processes import ERP_SYNC, process_env, start, wait_for

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_embedded_default_syncs_the_demo_at_once_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ERP_SYNC_", "CRON_SECRET", "SYNC_TIMEOUT", "DATABASE_URL"))}
    port = free_port()
    log = tmp_path / "serve.log"
    server = subprocess.Popen([ERP_SYNC, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(base), timeout=60)
        token = (tmp_path / "instance" / "api-token").read_text().strip()
        cron = (tmp_path / "instance" / "cron-secret").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        demo = httpx.get(f"{base}/api/integrations", headers=headers).json()["data"]
        assert [i["name"] for i in demo] == ["demo-customers"]
        assert demo[0]["connection"]["hasPassword"] is True
        runs_url = f"{base}/api/integrations/{demo[0]['id']}/runs"
        run = wait_for(lambda: next((r for r in httpx.get(runs_url, headers=headers).json()["data"]["items"]
                                     if r["status"] == "succeeded"), None), timeout=60)
        assert run["counts"]["inserted"] == 2000
        assert run["trigger"] == "startup"  # its own first run, not a slot caught up from before it existed
        assert f"running the demo integration {demo[0]['id']} once now" in log.read_text()
        assert "catching up missed slot" not in log.read_text()
        instance = tmp_path / "instance"
        assert {p.name: oct(p.stat().st_mode & 0o777) for p in instance.glob("erp-sync.sqlite3*")} == {
            "erp-sync.sqlite3": "0o600", "erp-sync.sqlite3-wal": "0o600", "erp-sync.sqlite3-shm": "0o600"}
        jobs = httpx.get(f"{base}/api/cron/init", headers={"X-Cron-Secret": cron}).json()["data"]["jobs"]
        assert [job["jobId"] for job in jobs] == [f"integration:{demo[0]['id']}"]
        with sqlite3.connect(tmp_path / "instance" / "erp-sync.sqlite3") as db:
            assert db.execute("SELECT count(*) FROM demo_customers").fetchone()[0] == 2000
        assert token not in log.read_text() and cron not in log.read_text()
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0, log.read_text()
    with sqlite3.connect(tmp_path / "instance" / "erp-sync.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM erp_sync_integrations WHERE lease_owner IS NOT NULL").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM erp_sync_runs WHERE status = 'running'").fetchone() == (0,)


@pytest.mark.parametrize(("command", "says"), [
    (["serve", "--port"], "erp-sync: cannot listen on 127.0.0.1:{port} (Address already in use); stop the process "
                          "that holds the port or choose another with --port"),
    (["serve", "--port", "{free}", "--sandbox-port"], "Port {port} is in use by another program"),  # werkzeug's
    (["sandbox", "--port"], "Port {port} is in use by another program"),
])
def test_a_port_in_use_is_said_plainly_with_exit_code_1(tmp_path: Path, command: list[str], says: str) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ERP_SYNC_", "CRON_SECRET", "SYNC_TIMEOUT", "DATABASE_URL"))}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [part.format(free=free_port()) for part in command]
        done = subprocess.run([ERP_SYNC, *argv, str(port)], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert says.format(port=port) in done.stderr
    assert "Traceback" not in done.stderr


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ERP_SYNC_", "CRON_SECRET", "SYNC_TIMEOUT", "DATABASE_URL"))}
    return {**env, **extra}


GIVEN_SECRETS = {"ERP_SYNC_API_TOKEN": API_TOKEN, "CRON_SECRET": CRON_SECRET, "ERP_SYNC_SECRET_KEYS": SECRET_KEY}


@pytest.mark.parametrize(("setting", "env", "args"), [
    ("DATABASE_URL", {**GIVEN_SECRETS, "DATABASE_URL": "nonsense"}, []),
    ("DATABASE_URL", {**GIVEN_SECRETS, "DATABASE_URL": "mysql://erp:db-s3cret@127.0.0.1/erp"}, []),
    ("ERP_SYNC_DATABASE_URL", {**GIVEN_SECRETS,
                               "ERP_SYNC_DATABASE_URL": "postgresql+asyncpg://erp:db-s3cret@127.0.0.1/erp"}, []),
    ("ERP_SYNC_LOG_LEVEL", {"ERP_SYNC_LOG_LEVEL": "LOUD"}, []),
    ("ERP_SYNC_SECRET_KEYS", {"ERP_SYNC_SECRET_KEYS": ","}, []),
    ("ERP_SYNC_INSTANCE_DIR", {"ERP_SYNC_INSTANCE_DIR": "{tmp}/a-file"}, []),
    ("ERP_SYNC_INSTANCE_DIR", {"ERP_SYNC_INSTANCE_DIR": "{tmp}/a-file/instance"}, []),
    ("ERP_SYNC_INSTANCE_DIR", {"ERP_SYNC_INSTANCE_DIR": "{tmp}/read-only"}, []),
    ("ERP_SYNC_INSTANCE_DIR", {**GIVEN_SECRETS, "ERP_SYNC_INSTANCE_DIR": "{tmp}/read-only"}, []),
    ("--host", {}, ["--host", "256.1.1.1"]),
    ("ERP_SYNC_API_TOKEN", {"ERP_SYNC_ENV": "production", **GIVEN_SECRETS, "ERP_SYNC_API_TOKEN": "a"}, []),
    ("CRON_SECRET", {"ERP_SYNC_ENV": "production", **GIVEN_SECRETS, "CRON_SECRET": API_TOKEN}, []),
])
def test_a_setting_serve_cannot_use_is_one_configuration_error_line_with_exit_code_2(
        tmp_path: Path, setting: str, env: dict[str, str], args: list[str]) -> None:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "read-only").mkdir()
    variables = _clean_env(ERP_SYNC_SANDBOX="off", **{k: v.format(tmp=tmp_path) for k, v in env.items()})
    with read_only(tmp_path / "read-only"):
        done = subprocess.run([ERP_SYNC, "serve", "--port", str(free_port()), *args], cwd=tmp_path, env=variables,
                              capture_output=True, text=True, timeout=60, check=False)
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("erp-sync: CONFIGURATION_ERROR: "), done.stderr
    assert setting in lines[0]
    assert "Traceback" not in done.stderr and "db-s3cret" not in done.stderr
    assert API_TOKEN not in done.stderr


@pytest.mark.parametrize(("args", "says"), [
    (["--port", "99999"], "argument --port: must be a whole number from 1 to 65535 (got 99999)"),
    (["--port", "0"], "argument --port: must be a whole number from 1 to 65535 (got 0)"),
    (["--sandbox-port", "70000"], "argument --sandbox-port: must be a whole number from 0 to 65535 (got 70000)"),
    (["--threads", "0"], "argument --threads: must be a whole number of at least 1 (got 0)"),
])
def test_serve_refuses_a_port_or_thread_count_out_of_range_as_wrong_usage(
        tmp_path: Path, args: list[str], says: str) -> None:
    done = subprocess.run([ERP_SYNC, "serve", *args], cwd=tmp_path, env=_clean_env(ERP_SYNC_SANDBOX="off"),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stderr
    assert says in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "instance").exists()  # refused before anything was set up


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_scheduler_in_another_process_picks_up_a_new_integration_within_its_poll_interval(
        tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    app = build_app(database_url, tmp_path / "instance")
    env = process_env(database_url, tmp_path / "instance", ERP_SYNC_SCHEDULER="on",
                      ERP_SYNC_SCHEDULER_POLL_SECONDS="1")
    log = tmp_path / "scheduler.log"
    scheduler = start(["scheduler"], env, log)
    try:
        wait_for(lambda: "scheduler running" in log.read_text(), timeout=30)
        created = app.integrations.create(customer_integration()).id
        wait_for(lambda: f"added=({created},)" in log.read_text(), timeout=15)
        app.integrations.update(created, {"isActive": False})
        wait_for(lambda: f"removed=({created},)" in log.read_text(), timeout=15)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        code = scheduler.wait(timeout=30)
        app.close()
    assert code == 0, log.read_text()


def test_the_sandbox_command_serves_softone_on_its_own(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "sandbox.log"
    sandbox = subprocess.Popen([ERP_SYNC, "sandbox", "--port", str(port), "--rows", "1000000", "--seed", "5"],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/s1services"
        wait_for(lambda: _answers(url), timeout=30)
        assert httpx.get(f"{url}?ping").text.startswith("Ping from Softone WebModule")
        login = httpx.post(url, json={"service": "login", "username": "demo", "password": "demo", "appId": "1001",
                                      "COMPANY": "1000", "BRANCH": "1000", "MODULE": "0", "REFID": "1"})
        client_id = _decode(login.content)["clientID"]
        info = _decode(httpx.post(url, json={"service": "getBrowserInfo", "clientID": client_id, "appId": "1001",
                                             "OBJECT": "CUSTOMER", "LIST": ""}).content)
        assert info["totalcount"] == 1_000_000 and info["fields"][0]["name"] == "ZOOMINFO"
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}?ping", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _decode(body: bytes) -> dict:
    import gzip
    import json

    if body[:2] == b"\x1f\x8b":
        body = gzip.decompress(body)
    return json.loads(body.decode("cp1253"), strict=False)


def test_running_the_demo_without_its_sandbox_says_where_it_looked_and_what_to_start(tmp_path: Path) -> None:
    from erp_sync.demo import demo_spec

    database_url = f"sqlite:///{tmp_path / 'erp.sqlite3'}"
    closed = f"http://user:secret@127.0.0.1:{free_port()}/s1services"  # nothing listens there
    app = build_app(database_url, tmp_path / "instance")
    integration = app.integrations.create(demo_spec(closed)).id
    app.close()
    env = process_env(database_url, tmp_path / "instance")
    done = subprocess.run([ERP_SYNC, "run", str(integration)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "run 1: failed" in done.stdout
    shown = closed.replace("user:secret@", "")
    assert f"error ERP_UNAVAILABLE: integration {integration}, run 1: SoftOne login unreachable at {shown} " \
           "(ConnectError); check connection.baseUrl and that the server is up" in done.stderr
    assert "`erp-sync serve` (make serve)" in done.stderr
    assert "secret" not in done.stderr + done.stdout
    assert "setup plugin" not in done.stderr  # alembic's start-up chatter stays out of the CLI's output


def test_a_database_that_cannot_be_reached_is_one_line_naming_it_without_its_password(tmp_path: Path) -> None:
    database_url = f"postgresql+psycopg://erp:db-s3cret@127.0.0.1:{free_port()}/erp"  # nothing listens there
    env = process_env(database_url, tmp_path / "instance")
    for command in (["integrations", "list"], ["run", "1"], ["scheduler"]):
        done = subprocess.run([ERP_SYNC, *command], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith("erp-sync: DATABASE_ERROR: the database postgresql+psycopg://erp:***@127.0.0.1:")
        assert "Connection refused" in done.stderr and "ERP_SYNC_DATABASE_URL" in done.stderr
        assert "Traceback" not in done.stderr and "db-s3cret" not in done.stderr + done.stdout


def test_commands_on_a_database_behind_this_version_say_to_run_db_upgrade(tmp_path: Path) -> None:
    from erp_sync.db.migrate import head, upgrade

    database_url = f"sqlite:///{tmp_path / 'erp.sqlite3'}"
    env = process_env(database_url, tmp_path / "instance")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ERP_SYNC, *args], env=env, capture_output=True, text=True, timeout=60)

    empty = cli("run", "1")
    assert empty.returncode == 2 and "Traceback" not in empty.stderr
    assert "has no erp-sync tables yet: run `erp-sync db upgrade`" in empty.stderr
    upgrade(database_url, "0002")
    older = cli("integrations", "list")
    assert older.returncode == 2 and "Traceback" not in older.stderr
    assert f"is at schema revision 0002, this erp-sync needs {head()}: run `erp-sync db upgrade`" in older.stderr
    assert cli("db", "upgrade").returncode == 0
    assert cli("integrations", "list").returncode == 0
