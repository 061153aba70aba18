"""The deployment files, checked without a Docker engine: compose.yaml's services and healthchecks, the Dockerfile's
user, healthcheck and entry point, the entry point's behaviour (with a stand-in `erp-sync`), and that every
setting these files and the Kubernetes example give is one that settings.py reads."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
import yaml

from erp_sync.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
DOCKERFILE = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
ENTRYPOINT = DOCKER / "entrypoint.sh"


class _RecordingEnv(Mapping[str, str]):
    """An environment that remembers every name looked up in it."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.asked.add(name)
        return self.values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


@pytest.fixture(scope="module")
def setting_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every environment variable load_settings reads, found by watching it read an empty environment."""
    env = _RecordingEnv({"ERP_SYNC_INSTANCE_DIR": str(tmp_path_factory.mktemp("instance"))})
    load_settings(env)
    assert {"ERP_SYNC_DATABASE_URL", "CRON_SECRET_FILE", "ERP_SYNC_ENV"} <= env.asked
    return env.asked


def _dockerfile_instructions() -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_compose_runs_erp_sync_against_a_healthy_postgres_15_with_a_volume() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"erp-sync", "postgres"}
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume = postgres["volumes"][0].split(":")[0]
    assert volume in COMPOSE["volumes"]
    app = services["erp-sync"]
    assert app["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert app["build"]["dockerfile"] == "docker/Dockerfile"
    assert (DOCKER / app["build"]["context"] / app["build"]["dockerfile"]).resolve() == DOCKER / "Dockerfile"
    assert app["environment"]["ERP_SYNC_ENV"] == "production"
    assert app["environment"]["ERP_SYNC_SANDBOX"] == "off"
    assert app["environment"]["ERP_SYNC_DATABASE_URL"].startswith("postgresql://erp_sync:")
    assert app["environment"]["ERP_SYNC_DATABASE_URL"].endswith("@postgres:5432/erp_sync")


def test_compose_sets_only_settings_that_erp_sync_reads(setting_names: set[str]) -> None:
    given = set(COMPOSE["services"]["erp-sync"]["environment"])
    assert given - setting_names == set()


def test_compose_takes_every_secret_from_the_env_file_and_commits_none() -> None:
    text = (DOCKER / "compose.yaml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{(\w+):\?", text))
    assert required == {"POSTGRES_PASSWORD", "ERP_SYNC_API_TOKEN", "CRON_SECRET", "ERP_SYNC_SECRET_KEYS",
                        "ERP_SYNC_SESSION_KEY"}
    example = dict(line.split("=", 1) for line in (DOCKER / ".env.example").read_text(encoding="utf-8").splitlines()
                   if line and not line.startswith("#"))
    assert set(re.findall(r"\$\{(\w+)", text)) <= set(example)
    assert all(example[name] == "" for name in required), "the example must not carry usable secrets"


def test_dockerfile_builds_in_stages_and_runs_slim_as_a_non_root_user() -> None:
    froms = [arg for op, arg in _dockerfile_instructions() if op == "FROM"]
    assert len(froms) >= 2
    assert froms[-1].split()[0] == "python:3.11-slim"
    users = [arg for op, arg in _final_stage() if op == "USER"]
    assert users, "the runtime stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    assert ("EXPOSE", "8000") in _final_stage()


def test_dockerfile_healthcheck_asks_healthz_with_python_not_curl() -> None:
    checks = [arg for op, arg in _final_stage() if op == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/healthz" in checks[0] and "urllib" in checks[0] and "curl" not in checks[0]


def test_dockerfile_entrypoint_is_the_script_and_the_script_is_executable_and_parses() -> None:
    entry = [arg for op, arg in _final_stage() if op == "ENTRYPOINT"]
    assert entry == ['["/app/docker/entrypoint.sh"]']
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR
    assert "set -euo pipefail" in ENTRYPOINT.read_text(encoding="utf-8")
    subprocess.run(["bash", "-n", str(ENTRYPOINT)], check=True)


@pytest.fixture
def fake_erp_sync(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A stand-in `erp-sync` first on PATH that appends its arguments to a log."""
    log = tmp_path / "calls.log"
    fake = tmp_path / "bin" / "erp-sync"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n', encoding="utf-8")
    fake.chmod(0o755)
    return {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}, log


@pytest.mark.parametrize(("args", "calls"), [
    ([], ["db upgrade", "serve --host 0.0.0.0 --port 8000"]),
    (["--threads", "16"], ["db upgrade", "serve --host 0.0.0.0 --port 8000 --threads 16"]),
    (["erp-sync", "run", "7"], ["run 7"]),
    (["erp-sync", "scheduler"], ["scheduler"]),
])
def test_entrypoint_migrates_then_serves_or_runs_the_command_given(
        fake_erp_sync: tuple[dict[str, str], Path], args: list[str], calls: list[str]) -> None:
    env, log = fake_erp_sync
    subprocess.run([str(ENTRYPOINT), *args], env=env, check=True, timeout=10)
    assert log.read_text(encoding="utf-8").splitlines() == calls


def test_entrypoint_passes_shellcheck() -> None:
    shellcheck = shutil.which("shellcheck", path=f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ['PATH']}")
    if shellcheck is None:
        if os.environ.get("CI"):
            pytest.fail("shellcheck is missing: scripts/install-actionlint.sh installs it into .tools/bin")
        pytest.skip("shellcheck is not installed (scripts/install-actionlint.sh)")
    subprocess.run([shellcheck, str(ENTRYPOINT)], check=True)


def test_kubernetes_cronjob_sets_only_settings_that_erp_sync_reads(setting_names: set[str]) -> None:
    cronjob = yaml.safe_load((ROOT / "examples" / "kubernetes" / "cronjob.yaml").read_text(encoding="utf-8"))
    container = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    names = {item["name"] for item in container["env"]} - {"INTEGRATION_ID"}
    assert names - setting_names == set()
