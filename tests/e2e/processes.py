"""Running erp-sync as real processes in tests: environment, CLI invocations, waiting on database state."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app_fixtures import API_TOKEN, CRON_SECRET, SECRET_KEY

VENV_BIN = Path(sys.executable).parent
ERP_SYNC = str(VENV_BIN / "erp-sync")


def process_env(database_url: str, instance_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_SYNC_", "CRON_SECRET", "SYNC_TIMEOUT"))}
    env.update({
        "ERP_SYNC_DATABASE_URL": database_url, "ERP_SYNC_INSTANCE_DIR": str(instance_dir),
        "ERP_SYNC_API_TOKEN": API_TOKEN, "CRON_SECRET": CRON_SECRET, "ERP_SYNC_SECRET_KEYS": SECRET_KEY,
        "ERP_SYNC_SESSION_KEY": "test-session-key-0123456789abcdefghij",  # every secret given: none generated
        "ERP_SYNC_SANDBOX": "off", "ERP_SYNC_SCHEDULER": "off", "ERP_SYNC_LOG_LEVEL": "INFO",
    })
    env.update(extra)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen([ERP_SYNC, *args], env=env, stdout=handle, stderr=subprocess.STDOUT)


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
