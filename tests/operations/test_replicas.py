"""Two `erp-sync serve` replicas on one PostgreSQL: they answer the same metrics, and one of them, not both, runs
the day's cleanup."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from app_fixtures import API_TOKEN, CRON_SECRET, SECRET_KEY, build_app, customer_integration
from postgres_cluster import PostgresCluster
from sqlalchemy import func, insert, select

from erp_sync.db.engine import make_engine
from erp_sync.db.models import MAINTENANCE_CLAIMS, RUNS

pytestmark = pytest.mark.e2e
ERP_SYNC = str(Path(sys.executable).parent / "erp-sync")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except httpx.HTTPError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


def serve(database_url: str, folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_SYNC_", "CRON_SECRET", "DATABASE_URL"))}
    env.update({"ERP_SYNC_DATABASE_URL": database_url, "ERP_SYNC_INSTANCE_DIR": str(folder),
                "ERP_SYNC_API_TOKEN": API_TOKEN, "CRON_SECRET": CRON_SECRET, "ERP_SYNC_SECRET_KEYS": SECRET_KEY,
                "ERP_SYNC_SANDBOX": "off", "ERP_SYNC_SCHEDULER": "off", "ERP_SYNC_RETENTION_DAYS": "30"})
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([ERP_SYNC, "serve", "--port", str(port)], env=env, stdout=(folder / "log").open("wb"),
                            stderr=subprocess.STDOUT)


def test_two_replicas_give_the_same_metrics_and_run_one_daily_cleanup(pg_cluster: PostgresCluster,
                                                                        tmp_path: Path) -> None:
    database_url = pg_cluster.create_database("replicas")
    erp = build_app(database_url, tmp_path / "seed")
    try:
        integration = erp.integrations.create(customer_integration(name="shared")).id
        now = datetime.now(UTC)
        with erp.engine.begin() as conn:
            conn.execute(insert(RUNS), [{
                "integration_id": integration, "trigger": "cron", "status": status, "started_at": now - age,
                "finished_at": now - age, "duration_ms": 1500, "full": False, "dry_run": False, "pages": 1,
                "fetched": 4, "inserted": 4, "updated": 0, "unchanged": 0, "deleted": 0, "pushed": 0,
                "conflicts": 0, "errors": 0}
                for status, age in [("succeeded", timedelta(days=45)), ("failed", timedelta(days=40)),
                                    ("succeeded", timedelta(days=35)), ("succeeded", timedelta(days=2))]])
    finally:
        erp.close()
    ports = [free_port(), free_port()]
    replicas = [serve(database_url, tmp_path / f"replica-{i}", port) for i, port in enumerate(ports)]
    try:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        for base in bases:
            wait_for(lambda base=base: httpx.get(f"{base}/readyz").status_code == 200)
        engine = make_engine(database_url)
        try:
            def claims() -> list[Any]:
                with engine.connect() as conn:
                    return list(conn.execute(select(MAINTENANCE_CLAIMS)).mappings())

            [claim] = wait_for(lambda: [c for c in claims() if c["finished_at"] is not None])
            with engine.connect() as conn:
                left = conn.execute(select(func.count()).select_from(RUNS)).scalar_one()
        finally:
            engine.dispose()
        assert (claim["task"], claim["slot"]) == ("retention", now.date().isoformat())
        assert claim["result"]["runs"] == 3 and left == 1  # three are over 30 days old; the latest run stays
        texts = [httpx.get(f"{base}/metrics", headers={"Authorization": f"Bearer {API_TOKEN}"}).text for base in bases]
        assert texts[0] == texts[1]
        assert 'erp_sync_runs_total{integration="shared",integration_id="1",status="succeeded",trigger="cron"} 3.0' \
            in texts[0]
    finally:
        for process in replicas:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in replicas]
    assert codes == [0, 0]
    logs = [(tmp_path / f"replica-{i}" / "log").read_text() for i in range(2)]
    assert sorted("retention: deleted 3 runs" in log for log in logs) == [False, True], logs
    assert sum("retention: deleted" in log for log in logs) == 1, logs  # the other replica cleaned nothing
