"""Log lines: [CRON] for scheduling, [SYNC] for runs; ERP_SYNC_LOG_FORMAT=json writes one JSON object a line."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_fixtures import API_TOKEN, CRON_SECRET, SECRET_KEY, customer_integration

from erp_sync.bootstrap import ErpSync
from erp_sync.log_format import JsonFormatter, TextFormatter
from erp_sync.sandbox import RunningSandbox
from erp_sync.scheduling.scheduler import JobScheduler, ScheduleEntry

ERP_SYNC = str(Path(sys.executable).parent / "erp-sync")
TEXT_LOG_LINE = re.compile(r"^(\[[A-Z]+\] )?\d{4}-\d\d-\d\d [\d:,]+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


@pytest.fixture
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    text, json_lines = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(text), logging.StreamHandler(json_lines)]
    handlers[0].setFormatter(TextFormatter())
    handlers[1].setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    for handler in handlers:
        root.addHandler(handler)
    yield text, json_lines
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def test_run_lines_start_with_sync_and_scheduling_lines_with_cron_in_both_formats(
        ops: ErpSync, sandbox: RunningSandbox, captured: tuple[io.StringIO, io.StringIO]) -> None:
    integration = ops.integrations.create(customer_integration(sandbox.url, name="logged")).id
    JobScheduler(lambda *_: None).reconcile([ScheduleEntry(integration, "*/5 * * * *", "UTC", True)])
    ops.runner.run(integration, "api")
    text, json_lines = (stream.getvalue().splitlines() for stream in captured)
    completed = next(line for line in text if " sync.completed " in line)
    assert completed.startswith("[SYNC] ") and f"integration_id={integration}" in completed
    assert any(line.startswith("[CRON] ") and "schedules reconciled" in line for line in text), text
    events = [json.loads(line) for line in json_lines]
    done = next(event for event in events if event["message"] == "sync.completed")
    assert done["tag"] == "SYNC" and done["integration_id"] == integration and done["status"] == "succeeded"
    assert done["inserted"] == 60 and done["logger"] == "erp_sync.services.sync"
    assert {event["tag"] for event in events if event["logger"].startswith("erp_sync.scheduling")} == {"CRON"}
    assert {event["tag"] for event in events if event["logger"] == "httpx"} <= {None}


def test_erp_sync_run_with_the_json_format_writes_only_json_lines(
        ops: ErpSync, sandbox: RunningSandbox, database_url: str, tmp_path: Path) -> None:
    integration = ops.integrations.create(customer_integration(sandbox.url, name="json-logged")).id
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_SYNC_", "CRON_SECRET"))}
    env.update({"ERP_SYNC_DATABASE_URL": database_url, "ERP_SYNC_INSTANCE_DIR": str(tmp_path / "cli"),
                "ERP_SYNC_API_TOKEN": API_TOKEN, "CRON_SECRET": CRON_SECRET, "ERP_SYNC_SECRET_KEYS": SECRET_KEY,
                "ERP_SYNC_SANDBOX": "off", "ERP_SYNC_SCHEDULER": "off", "ERP_SYNC_LOG_FORMAT": "json"})
    done = subprocess.run([ERP_SYNC, "run", str(integration)], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    text_lines = [line for line in done.stderr.splitlines() if TEXT_LOG_LINE.match(line)]
    assert text_lines == []  # the CLI's own messages (erp-sync: ...) are not log lines
    completed = next(event for event in events if event["message"] == "sync.completed")
    assert completed["tag"] == "SYNC" and completed["integration_id"] == integration
    assert API_TOKEN not in done.stderr and CRON_SECRET not in done.stderr
