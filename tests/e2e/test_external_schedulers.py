"""The external-scheduler examples run against a served instance on loopback: the crontab line and its script, the
systemd template unit, the GitHub Actions workflow's shell step and the Kubernetes CronJob's command; plus
actionlint on the workflow, shellcheck on the script and systemd-analyze on the units.

One `erp-sync serve` process serves the module: SQLite, the built-in SoftOne sandbox with its demo integration,
and the scheduler off, so that only these tests start runs. A run "in progress" is made real, not faked: the
sandbox's slow-call fault holds a run started through the admin API while the example under test fires.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from app_fixtures import API_TOKEN, CRON_SECRET, SECRET_KEY, admin
from croniter import croniter
from processes import VENV_BIN, process_env, start, wait_for
from sqlalchemy import create_engine, text

from erp_sync.demo import DEMO_NAME, demo_spec
from erp_sync.domain.run import RunStatus

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPT = EXAMPLES / "crontab" / "erp-sync-sync.sh"
CRON_FILE = EXAMPLES / "crontab" / "erp-sync.cron"
SYSTEMD = EXAMPLES / "systemd"
WORKFLOW = EXAMPLES / "github-actions" / "erp-sync.yml"
CRONJOB = EXAMPLES / "kubernetes" / "cronjob.yaml"
INSTALLED_SCRIPT = "/usr/local/bin/erp-sync-sync.sh"
TOOLS_PATH = f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"

BUSY_SECONDS = 4.0


@dataclass
class Served:
    url: str
    sandbox_url: str
    database_url: str
    log: Path

    def admin(self, method: str, path: str, *, status: int = 200, **kwargs: Any) -> Any:
        response = httpx.request(method, self.url + path, headers=admin(),
                                 timeout=30, **kwargs)
        assert response.status_code == status, response.text
        return response.json()["data"]

    def sandbox(self, method: str, path: str, **kwargs: Any) -> Any:
        parts = urlsplit(self.sandbox_url)
        response = httpx.request(method, f"{parts.scheme}://{parts.netloc}/_sandbox/{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json()

    def log_tail(self) -> str:
        return "\n--- server log (tail) ---\n" + self.log.read_text(errors="replace")[-3000:]

    def runs(self, integration_id: int) -> list[dict[str, Any]]:
        return self.admin("GET", f"/api/integrations/{integration_id}/runs", params={"limit": 50})["items"]

    def create_integration(self, name: str, **changes: Any) -> int:
        spec = demo_spec(self.sandbox_url)
        spec.update(name=name, target={"table": name.replace("-", "_"), "createIfMissing": True}, **changes)
        return int(self.admin("POST", "/api/integrations", status=201, json=spec)["id"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    """This process's environment without erp-sync settings, so none leaks into what a test starts."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("ERP_SYNC_", "CRON_SECRET", "GITHUB_")) and k not in {"DATABASE_URL", "APP_URL"}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{tmp / 'erp-sync.sqlite3'}"
    log = tmp / "server.log"
    process = start(["serve", "--host", "127.0.0.1", "--port", str(port)],
                    process_env(database_url, tmp / "instance", ERP_SYNC_SANDBOX="on"), log)
    try:
        health = wait_for(lambda: _health(url, process, log))
        yield Served(url, health["sandbox"], database_url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _health(url: str, process: subprocess.Popen[bytes], log: Path) -> dict[str, Any] | None:
    if process.poll() is not None:
        pytest.fail(f"erp-sync serve exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
    try:
        response = httpx.get(f"{url}/healthz", timeout=2)
    except httpx.TransportError:
        return None
    return response.json()["data"] if response.status_code == 200 else None


@pytest.fixture(scope="module")
def demo_id(served: Served) -> int:
    """The demo integration, once the first load that serve starts for it has ended (a trigger meanwhile would
    meet its lease and be answered SYNC_IN_PROGRESS)."""
    demo = next(int(i["id"]) for i in served.admin("GET", "/api/integrations") if i["name"] == DEMO_NAME)
    wait_for(lambda: served.runs(demo) and not any(run["status"] in ("claimed", "running")
                                                   for run in served.runs(demo)), timeout=60, interval=0.2)
    return demo


@pytest.fixture(scope="module")
def wrong_password_id(served: Served) -> int:
    spec = demo_spec(served.sandbox_url)
    return served.create_integration("e2e-wrong-password",
                                     connection={**spec["connection"], "password": "not-the-password"})


@pytest.fixture(scope="module")
def paused_id(served: Served) -> int:
    return served.create_integration("e2e-paused", isActive=False)


# --- the examples, each run as its scheduler would run it -------------------------------------------------------


@dataclass
class Workdir:
    """A scratch folder, and a `curl` first on PATH that logs its arguments before running the real one."""

    path: Path

    @property
    def curl_log(self) -> Path:
        return self.path / "curl-argv.log"

    def path_with_curl_shim(self, rest: str) -> str:
        shim = self.path / "shim" / "curl"
        if not shim.exists():
            real = shutil.which("curl")
            assert real, "curl is needed for the crontab and GitHub Actions examples"
            shim.parent.mkdir()
            shim.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {self.curl_log}\nexec {real} "$@"\n', encoding="utf-8")
            shim.chmod(0o755)
        return f"{shim.parent}{os.pathsep}{rest}"


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def _cron_entries() -> tuple[dict[str, str], list[str]]:
    """The cron file's variable assignments and its job lines."""
    variables: dict[str, str] = {}
    jobs: list[str] = []
    for line in CRON_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if re.match(r"^[A-Za-z_]\w*=", line):
            name, value = line.split("=", 1)
            variables[name] = value
        else:
            jobs.append(line)
    return variables, jobs


def run_crontab_line(served: Served, integration_id: int, work: Workdir) -> subprocess.CompletedProcess[str]:
    """The job line of erp-sync.cron through /bin/sh with cron's environment: the file's variables, the script
    where the repository keeps it, this server's address and a secret file."""
    variables, jobs = _cron_entries()
    command = jobs[0].split(None, 6)[6]
    command, found = re.subn(rf"{re.escape(INSTALLED_SCRIPT)} \d+", f"{SCRIPT} {integration_id}", command)
    assert found == 1, command
    secret_file = work.path / "cron-secret"
    secret_file.write_text(CRON_SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o600)
    env = {**variables, "HOME": str(work.path), "LOGNAME": jobs[0].split()[5], "ERP_SYNC_URL": served.url,
           "CRON_SECRET_FILE": str(secret_file), "PATH": work.path_with_curl_shim(variables["PATH"])}
    return _run(["/bin/sh", "-c", command], env, work.path)


def run_crontab_script(served: Served, integration_id: int, work: Workdir,
                       secret: str = CRON_SECRET) -> subprocess.CompletedProcess[str]:
    env = {**_clean_env(), "ERP_SYNC_URL": served.url, "CRON_SECRET": secret,
           "PATH": work.path_with_curl_shim(os.environ["PATH"])}
    return _run([str(SCRIPT), str(integration_id)], env, work.path)


def _unit(name: str) -> dict[str, list[str]]:
    """A systemd unit file as {"Section.Key": [values]}."""
    entries: dict[str, list[str]] = {}
    section = ""
    for line in (SYSTEMD / name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif line and not line.startswith(("#", ";")):
            key, value = line.split("=", 1)
            entries.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return entries


def run_systemd_unit(served: Served, integration_id: int, work: Workdir) -> subprocess.CompletedProcess[str]:
    """erp-sync-sync@<id>.service's ExecStart with what its EnvironmentFile holds (examples/README.md)."""
    unit = _unit("erp-sync-sync@.service")
    assert unit["Service.EnvironmentFile"] == ["/etc/erp-sync/sync.env"]
    argv = shlex.split(unit["Service.ExecStart"][0].replace("%i", str(integration_id)))
    assert argv[0] == INSTALLED_SCRIPT
    env = {"ERP_SYNC_URL": served.url, "CRON_SECRET": CRON_SECRET, "PATH": work.path_with_curl_shim(os.environ["PATH"])}
    return _run([str(SCRIPT), *argv[1:]], env, work.path)


def _workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _workflow_step() -> dict[str, Any]:
    steps = [step for job in _workflow()["jobs"].values() for step in job["steps"] if "run" in step]
    assert len(steps) == 1
    return steps[0]


def run_workflow_step(served: Served, integration_id: int, work: Workdir,
                      secret: str = CRON_SECRET) -> subprocess.CompletedProcess[str]:
    """The workflow's `run:` step as GitHub runs `shell: bash`, with the values its `env:` expressions take."""
    step = _workflow_step()
    assert step["shell"] == "bash"
    values = {"${{ vars.ERP_SYNC_URL }}": served.url, "${{ secrets.ERP_SYNC_CRON_SECRET }}": secret,
              "${{ inputs.integrationId || vars.ERP_SYNC_INTEGRATION_ID }}": str(integration_id)}
    script = work.path / "step.sh"
    script.write_text(step["run"], encoding="utf-8")
    env = {**_clean_env(), **{name: values[expression] for name, expression in step["env"].items()},
           "GITHUB_STEP_SUMMARY": str(work.path / "summary.md"), "PATH": work.path_with_curl_shim(os.environ["PATH"])}
    return _run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], env, work.path)


def _cronjob() -> dict[str, Any]:
    return yaml.safe_load(CRONJOB.read_text(encoding="utf-8"))


def run_kubernetes_cronjob(served: Served, integration_id: int, work: Workdir) -> subprocess.CompletedProcess[str]:
    """The CronJob container's command with its env, against this server's database: the Secret's keys become
    files where the manifest mounts them, secretKeyRef values are put in directly."""
    pod = _cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    secret = {"database-url": served.database_url, "api-token": API_TOKEN, "cron-secret": CRON_SECRET,
              "secret-keys": SECRET_KEY}
    secret_volumes = {v["name"] for v in pod["volumes"] if v.get("secret", {}).get("secretName") == "erp-sync"}
    mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] in secret_volumes]
    for key, value in secret.items():
        (work.path / "secrets" / key).parent.mkdir(exist_ok=True)
        (work.path / "secrets" / key).write_text(value, encoding="utf-8")
    env = {**_clean_env(), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    for item in container["env"]:
        if "valueFrom" in item:
            ref = item["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "erp-sync"
            env[item["name"]] = secret[ref["key"]]
        elif item["name"].endswith("_FILE"):
            mount = next(m for m in mounts if item["value"].startswith(m + "/"))
            env[item["name"]] = str(work.path / "secrets" / item["value"][len(mount) + 1:])
        elif item["name"] == "INTEGRATION_ID":
            env[item["name"]] = str(integration_id)
        else:
            env[item["name"]] = item["value"]
    return _run([*container["command"], *container["args"]], env, work.path)


@dataclass(frozen=True)
class Caller:
    run: Callable[..., subprocess.CompletedProcess[str]]
    trigger: str
    busy_note: str | None
    uses_curl: bool = True


CALLERS = {
    "crontab-line": Caller(run_crontab_line, "cron", None),  # its stdout goes to /dev/null
    "crontab-script": Caller(run_crontab_script, "cron", "another run is in progress; skipped"),
    "systemd-unit": Caller(run_systemd_unit, "cron", "another run is in progress; skipped"),
    "github-actions-step": Caller(run_workflow_step, "cron", "::warning::integration"),
    "kubernetes-cronjob": Caller(run_kubernetes_cronjob, "cli", "already syncing elsewhere; nothing to do",
                                 uses_curl=False),
}


@pytest.fixture
def work(tmp_path: Path) -> Workdir:
    return Workdir(tmp_path)


def _finished(served: Served, run_id: int) -> dict[str, Any]:
    def run_if_finished() -> dict[str, Any] | None:
        run = served.admin("GET", f"/api/runs/{run_id}")
        return run if run["finishedAt"] else None

    return wait_for(run_if_finished, timeout=60, interval=0.2)


# --- behaviour against the served instance ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["crontab-line", "systemd-unit", "github-actions-step", "kubernetes-cronjob"])
def test_a_successful_sync_exits_zero_and_records_a_finished_run(
        served: Served, demo_id: int, work: Workdir, name: str) -> None:
    caller = CALLERS[name]
    before = max((run["id"] for run in served.runs(demo_id)), default=0)

    result = caller.run(served, demo_id, work)

    assert result.returncode == 0, result.stdout + result.stderr + served.log_tail()
    if name == "crontab-line":
        assert result.stdout == result.stderr == "", "cron mails any output; a good run must print nothing"
    new = [run for run in served.runs(demo_id) if run["id"] > before]
    assert [(run["trigger"], run["status"], run["error"]) for run in new] == [
        (caller.trigger, RunStatus.SUCCEEDED, None)]
    assert new[0]["finishedAt"] is not None
    with create_engine(served.database_url).connect() as conn:
        landed = conn.execute(text("SELECT count(*) FROM demo_customers")).scalar_one()
    assert landed == served.sandbox("GET", "stats")["rows"]["CUSTOMER"]
    if caller.uses_curl:
        argv = work.curl_log.read_text(encoding="utf-8")
        assert "/api/cron/sync-integration?wait=true" in argv
        assert CRON_SECRET not in argv, "the secret must not be on curl's command line (ps shows it)"


@pytest.mark.parametrize("name", ["crontab-script", "systemd-unit", "github-actions-step", "kubernetes-cronjob"])
def test_a_sync_already_in_progress_exits_zero_with_a_note(
        served: Served, demo_id: int, work: Workdir, name: str) -> None:
    caller = CALLERS[name]
    served.sandbox("POST", "faults", json={"slow_page_seconds": {"seconds": BUSY_SECONDS, "service": None}})
    try:
        running = served.admin("POST", f"/api/integrations/{demo_id}/sync", status=202)
        result = caller.run(served, demo_id, work)
        still_running = served.admin("GET", f"/api/runs/{running['runId']}")["finishedAt"] is None
    finally:
        served.sandbox("DELETE", "faults")

    assert still_running, f"the busy window ({BUSY_SECONDS} s) closed before {name} fired; the test proves nothing"
    assert result.returncode == 0, result.stdout + result.stderr + served.log_tail()
    assert caller.busy_note and caller.busy_note in result.stdout
    assert _finished(served, running["runId"])["status"] == RunStatus.SUCCEEDED


@pytest.mark.parametrize("name", ["crontab-script", "systemd-unit", "github-actions-step", "kubernetes-cronjob"])
def test_a_failed_sync_fails_the_caller(served: Served, wrong_password_id: int, work: Workdir, name: str) -> None:
    result = CALLERS[name].run(served, wrong_password_id, work)

    assert result.returncode == 1, result.stdout + result.stderr + served.log_tail()
    failed = served.runs(wrong_password_id)[0]
    assert failed["status"] == RunStatus.FAILED
    assert failed["error"]["code"] == "ERP_BAD_CREDENTIALS"
    if name == "github-actions-step":
        assert "::error::" in result.stdout and "SYNC_FAILED" in result.stdout
    elif name != "kubernetes-cronjob":
        assert "HTTP 502 SYNC_FAILED" in result.stderr


@pytest.mark.parametrize("problem", ["wrong secret", "unknown integration", "inactive integration"])
def test_the_crontab_script_fails_with_exit_2_on_a_configuration_problem(
        served: Served, paused_id: int, work: Workdir, problem: str) -> None:
    integration_id, secret, code = {
        "wrong secret": (paused_id, "not-the-secret", "UNAUTHORIZED"),
        "unknown integration": (987654, CRON_SECRET, "NOT_FOUND"),
        "inactive integration": (paused_id, CRON_SECRET, "INTEGRATION_INACTIVE"),
    }[problem]

    result = run_crontab_script(served, integration_id, work, secret=secret)

    assert result.returncode == 2, result.stdout + result.stderr
    assert code in result.stderr
    assert served.runs(paused_id) == []


def test_the_github_actions_step_fails_on_an_inactive_integration(
        served: Served, paused_id: int, work: Workdir) -> None:
    result = run_workflow_step(served, paused_id, work)

    assert result.returncode != 0
    assert "::error::" in result.stdout and "INTEGRATION_INACTIVE" in result.stdout


# --- the files themselves ----------------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name, path=TOOLS_PATH)
    if found is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: scripts/install-actionlint.sh installs it into .tools/bin")
        pytest.skip(f"{name} is not installed (scripts/install-actionlint.sh installs it)")
    return found


def test_the_workflow_passes_actionlint() -> None:
    actionlint = _tool("actionlint")
    result = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PATH": TOOLS_PATH})
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_runs_on_a_schedule_and_by_hand_with_the_secret_from_repository_secrets() -> None:
    workflow = _workflow()
    on = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` key as true
    assert croniter.is_valid(on["schedule"][0]["cron"])
    assert "integrationId" in on["workflow_dispatch"]["inputs"]
    assert _workflow_step()["env"]["CRON_SECRET"] == "${{ secrets.ERP_SYNC_CRON_SECRET }}"
    assert "${{" not in _workflow_step()["run"], "expressions go through env:, never into the script"


def test_the_crontab_script_is_strict_and_passes_shellcheck() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    assert "set -euo pipefail" in source
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    subprocess.run([_tool("shellcheck"), str(SCRIPT)], check=True)


def test_the_cron_file_has_one_valid_job_line_for_a_user() -> None:
    variables, jobs = _cron_entries()
    assert len(jobs) == 1
    fields = jobs[0].split(None, 6)
    assert croniter.is_valid(" ".join(fields[:5]))
    assert fields[5] == "erp-sync"
    assert {"ERP_SYNC_URL", "CRON_SECRET_FILE", "PATH"} <= set(variables)


def test_the_kubernetes_cronjob_never_overlaps_and_takes_its_secrets_from_a_secret() -> None:
    cronjob = _cronjob()
    assert cronjob["kind"] == "CronJob"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert croniter.is_valid(cronjob["spec"]["schedule"])
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"]["runAsNonRoot"] is True
    container = pod["containers"][0]
    assert "erp-sync run" in container["args"][0]
    plain = {item["name"] for item in container["env"] if "value" in item}
    assert not plain & {"ERP_SYNC_DATABASE_URL", "ERP_SYNC_API_TOKEN", "CRON_SECRET", "ERP_SYNC_SECRET_KEYS"}


def test_the_kubernetes_command_passes_shellcheck() -> None:
    container = _cronjob()["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["/bin/sh", "-c"]
    subprocess.run([_tool("shellcheck"), "--shell=sh", "-"], input=container["args"][0], text=True, check=True)


def test_the_systemd_units_pass_systemd_analyze(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    for unit in SYSTEMD.iterdir():
        shutil.copy(unit, tmp_path / unit.name)
    units = [str(tmp_path / name) for name in ("erp-sync.service", "erp-sync-sync@7.service", "erp-sync-sync@7.timer")]
    result = subprocess.run([analyze, "verify", "--man=no", *units], capture_output=True, text=True, timeout=60)
    # The programs the units start are not installed here; everything else systemd reports is a mistake.
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if line.strip() and "is not executable: No such file or directory" not in line]
    assert problems == []


def test_the_systemd_template_is_a_oneshot_with_the_secret_in_an_environment_file() -> None:
    service, timer = _unit("erp-sync-sync@.service"), _unit("erp-sync-sync@.timer")
    assert service["Service.Type"] == ["oneshot"]
    assert service["Service.EnvironmentFile"]
    assert "%i" in service["Service.ExecStart"][0]
    assert timer["Timer.Persistent"] == ["true"]
    assert timer["Install.WantedBy"] == ["timers.target"]
