"""Fixtures for the sandbox tests: one real HTTP sandbox per test module, reset before each test.

`S1` is a tiny test client that speaks to /s1services the way a careful client must: gunzip by magic bytes,
decode Windows-1253, parse JSON leniently. It is no mock: every call crosses a real socket.
"""

from __future__ import annotations

import gzip
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from erp_sync.sandbox import RunningSandbox

CUSTOMERS = 60
ITEMS = 20
START_TIME = datetime(2025, 3, 10, 8, 0, 0, tzinfo=UTC)


class TestClock:
    """A settable clock for the sandbox's `now`."""

    __test__ = False

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

    def advance(self, **delta: float) -> None:
        with self._lock:
            self._now += timedelta(**delta)


def decode_body(content: bytes, content_type: str = "application/json") -> dict[str, Any]:
    """A SoftOne body as a careful client reads it: charset from the header, else Windows-1253."""
    if content[:2] == b"\x1f\x8b":
        content = gzip.decompress(content)
    charset = content_type.partition("charset=")[2].strip() or "cp1253"
    return json.loads(content.decode(charset), strict=False)


class S1:
    """A minimal /s1services caller over httpx for tests."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.http = httpx.Client(timeout=10)
        self.client_id = ""

    def raw(self, body: dict[str, Any], method: str = "POST") -> httpx.Response:
        return self.http.request(method, self.sandbox.url, content=json.dumps(body).encode())

    def send(self, body: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        response = self.raw(body, method)
        assert response.status_code == 200, response.text
        return decode_body(response.content, response.headers.get("content-type", ""))

    def call(self, service: str, **params: Any) -> dict[str, Any]:
        """A call with the current clientID and appId."""
        return self.send({"service": service, "clientID": self.client_id, "appId": "1001", **params})

    def login(self) -> str:
        """One-step login; remembers and returns the clientID."""
        body = self.send(
            {
                "service": "login",
                "username": "demo",
                "password": "demo",
                "appId": 1001,
                "COMPANY": "1000",
                "BRANCH": "1000",
                "MODULE": "0",
                "REFID": "1",
            }
        )
        assert body["success"] is True, body
        self.client_id = body["clientID"]
        return self.client_id

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, self.sandbox.admin_url + path, json=body)

    def browse(self, object_name: str = "CUSTOMER", filters: str = "", page_size: int = 25) -> list[list[str]]:
        """Every row of a browser, paged to the end."""
        info = self.call("getBrowserInfo", OBJECT=object_name, LIST="", FILTERS=filters)
        assert info["success"] is True, info
        rows: list[list[str]] = []
        while len(rows) < info["totalcount"]:
            page = self.call("getBrowserData", reqID=info["reqID"], START=len(rows), LIMIT=page_size)
            assert page["success"] is True, page
            assert page["rows"], "a page came back empty before totalcount"
            rows.extend(page["rows"])
        return rows
