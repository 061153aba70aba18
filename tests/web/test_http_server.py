"""What `erp-sync serve`'s HTTP server answers by itself, before Flask sees the request: the envelope too.

A real `erp-sync serve` process on loopback, spoken to over a raw socket, because an HTTP client library would
percent-encode the bytes that make waitress refuse the request line.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from app_fixtures import API_TOKEN, CRON_SECRET, SECRET_KEY

pytestmark = pytest.mark.e2e

ERP_SYNC = str(Path(sys.executable).parent / "erp-sync")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read the answer to the end (the server closes), split status, headers and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (h.partition(":") for h in header_lines)}
    return int(status_line.split()[1]), headers, body


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    folder = tmp_path_factory.mktemp("served")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERP_SYNC_", "CRON_SECRET", "DATABASE_URL"))}
    env.update({"ERP_SYNC_DATABASE_URL": f"sqlite:///{folder / 'app.sqlite3'}",
                "ERP_SYNC_INSTANCE_DIR": str(folder / "instance"), "ERP_SYNC_API_TOKEN": API_TOKEN,
                "CRON_SECRET": CRON_SECRET, "ERP_SYNC_SECRET_KEYS": SECRET_KEY, "ERP_SYNC_SANDBOX": "off",
                "ERP_SYNC_SCHEDULER": "off"})
    port = _free_port()
    log = folder / "serve.log"
    server = subprocess.Popen([ERP_SYNC, "serve", "--port", str(port)], env=env, cwd=folder,
                              stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while _status_of_health(port) != 200:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=60)


def _status_of_health(port: int) -> int | None:
    try:
        return _exchange(port, b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")[0]
    except OSError:
        return None


def _envelope(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    assert headers["content-type"] == "application/json", (headers, body)
    answer = json.loads(body)
    assert answer["success"] is False
    assert answer["meta"]["requestId"] == headers["x-request-id"]
    return dict(answer["error"])


@pytest.mark.parametrize("target", ["/api/integrations/é".encode(), "/api/integrations?count=\u0394".encode(),
                                    b"/api/\xff\xfe"], ids=["path", "query", "not-utf-8"])
def test_a_request_line_with_raw_non_ascii_bytes_is_answered_400_malformed_request_in_the_envelope(
        served: int, target: bytes) -> None:
    status, headers, body = _exchange(
        served, b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + API_TOKEN.encode()
        + b"\r\nConnection: close\r\n\r\n")
    error = _envelope(headers, body)
    assert status == 400
    assert error["code"] == "MALFORMED_REQUEST"
    assert "%C3%A9" in error["message"]


def test_the_same_path_percent_encoded_reaches_the_app(served: int) -> None:
    status, headers, body = _exchange(
        served, b"GET /api/integrations/%C3%A9 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " + API_TOKEN.encode()
        + b"\r\nConnection: close\r\n\r\n")
    assert status == 404
    assert _envelope(headers, body)["code"] == "NOT_FOUND"
