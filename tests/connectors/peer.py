"""A scripted SoftOne peer on loopback that answers with exact bytes, for what the sandbox cannot produce.

`ScriptedServer` is a real HTTP server (werkzeug, threaded) whose answers a test writes per service: a dict is
sent as JSON, a `Reply` controls status, headers, raw bytes, delay, or a dropped connection. It records every
request body it received, decoded and raw, so a test can assert on what the client actually sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from erp_sync.connectors.softone import SoftOneConfig

CLIENT_ID = "TmpCID%2bsecret-7f3a"
FINAL_CLIENT_ID = "FinalCID%2bsecret-9c1d"
PASSWORD = "pw-S3cret!Ω"


@dataclass
class Reply:
    """An exact answer: `body` as bytes, or text encoded with `encoding`, or a dict sent as JSON."""

    body: bytes | str | dict[str, Any] = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    delay: float = 0.0
    drop: bool = False

    def payload(self) -> bytes:
        if isinstance(self.body, dict):
            return json.dumps(self.body, ensure_ascii=False).encode(self.encoding)
        if isinstance(self.body, str):
            return self.body.encode(self.encoding)
        return self.body


Handler = Callable[[dict[str, Any]], "Reply | dict[str, Any]"]


def ok(**members: Any) -> dict[str, Any]:
    return {"success": True, **members}


def failure(code: int, message: str) -> dict[str, Any]:
    return {"success": False, "errorcode": code, "error": message}


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ScriptedServer:
    """A loopback HTTP peer; `routes` maps a lower-case service name to a handler."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {
            "login": lambda req: ok(clientID=CLIENT_ID, ver="6.00.622.11560", objs=[
                {"COMPANY": "1000", "COMPANYNAME": "Πρώτη Εταιρεία", "BRANCH": "1000", "MODULE": "0", "REFID": "1"},
                {"COMPANY": "2000", "COMPANYNAME": "Δεύτερη Εταιρεία", "BRANCH": "2001", "MODULE": "0",
                 "REFID": "7"}]),
            "authenticate": lambda req: ok(clientID=FINAL_CLIENT_ID, s1u=1),
        }
        self.requests: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self._lock = threading.Lock()
        self._server: BaseWSGIServer = make_server("127.0.0.1", 0, self._app, threaded=True,
                                                   request_handler=_QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/s1services"

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self, service: str) -> list[dict[str, Any]]:
        """Requests received for one service, in order."""
        with self._lock:
            return [r for r in self.requests if str(r.get("service", "")).lower() == service.lower()]

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        request = json.loads(raw) if raw else {}
        with self._lock:
            self.requests.append(request)
            self.raw.append(raw)
        handler = self.routes.get(str(request.get("service", "")).lower())
        reply = handler(request) if handler else Reply(failure(-12, "Invalid Web Service call."))
        if isinstance(reply, dict):
            reply = Reply(reply)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.drop:
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            return []
        payload = reply.payload()
        headers = {"Content-Type": "application/json", **reply.headers, "Content-Length": str(len(payload))}
        start_response(f"{reply.status} {HTTPStatus(reply.status).phrase}", list(headers.items()))
        return [payload]


def fast_config(url: str, **overrides: Any) -> SoftOneConfig:
    """Settings with short timeouts and millisecond backoff, for tests."""
    values: dict[str, Any] = {
        "base_url": url, "username": "demo", "password": PASSWORD, "app_id": "1001",
        "timeout_seconds": 1.0, "connect_timeout_seconds": 0.5, "max_retries": 2,
        "retry_backoff_seconds": 0.005, "retry_backoff_max_seconds": 0.02,
    }
    values.update(overrides)
    return SoftOneConfig(**values)
