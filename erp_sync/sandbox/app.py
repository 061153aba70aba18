"""SandboxApp: the WSGI callable. /s1services speaks SoftOne, /_sandbox/ is the admin surface (admin.py).

/s1services takes POST and GET-with-a-JSON-body; `?ping` and `?refresh` answer plain text. Each JSON call is
counted, checked against the armed call faults (faults.py), run through services.call under the state lock, and
encoded with the quirk switches (encoding.py). Application errors are HTTP 200 bodies with success:false.
`truncated_gzip_on_call` sends the answer gzipped with `Content-Encoding: gzip`, its Content-Length that of the
half it sends. `drop_connection_on_call` needs werkzeug's server (start_in_thread and serve use it): the handler
shuts the client socket down and the client sees the connection close with no answer.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from . import admin, services
from .config import SandboxConfig
from .encoding import JSON_CP1253, JSON_UTF8, decode_request, encode_json, gzip_bytes
from .faults import Fault
from .protocol import UNKNOWN_SERVICE, Request, ServiceError
from .state import SandboxState

StartResponse = Callable[..., Any]
PING_TEXT = (
    "Ping from Softone WebModule\r\nISAPI is working - Module configured\r\n"
    "Running in TCP mode [127.0.0.1:22099 Connected]\r\n"
)
IIS_500 = (
    "<!DOCTYPE html><html><head><title>500 - Internal server error.</title></head><body>"
    '<div id="header"><h1>Server Error</h1></div><div id="content"><fieldset>'
    "<h2>500 - Internal server error.</h2><h3>There is a problem with the resource you are looking for, "
    "and it cannot be displayed.</h3></fieldset></div></body></html>"
)
PROXY_ERROR = (
    "<!DOCTYPE html><html><head><title>{status} - Web server received an invalid response while acting "
    'as a gateway or proxy server.</title></head><body><div id="header"><h1>Server Error</h1></div>'
    '<div id="content"><fieldset><h2>{status} - Web server received an invalid response while acting '
    "as a gateway or proxy server.</h2></fieldset></div></body></html>"
)
HTTP_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _respond(start_response: StartResponse, status: int, body: bytes, content_type: str) -> list[bytes]:
    start_response(
        f"{status} {HTTP_REASONS.get(status, 'OK' if status == 200 else 'Error')}",
        [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "private")],
    )
    return [body]


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        return stream.read(int(length))
    return stream.read() if environ.get("wsgi.input_terminated") else b""


def _truncated_gzip(start_response: StartResponse, body: bytes, content_type: str) -> list[bytes]:
    """The body gzipped and cut off halfway, declared as gzip: what a client sees when a compressed answer dies
    mid-stream (the HTTP framing is whole, the gzip stream is not)."""
    compressed = gzip_bytes(body)
    cut = compressed[: max(len(compressed) // 2, 11)]  # past the 10-byte gzip header: the stream itself is short
    start_response("200 OK", [("Content-Type", content_type), ("Content-Encoding", "gzip"),
                              ("Content-Length", str(len(cut))), ("Cache-Control", "private")])
    return [cut]


def _drop_connection(environ: dict[str, Any]) -> None:
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise RuntimeError("drop_connection_on_call needs werkzeug's server (start_in_thread or serve)")
    sock.shutdown(socket.SHUT_RDWR)
    # werkzeug treats ConnectionError from the app as a dropped client and writes nothing more.
    raise ConnectionAbortedError("sandbox fault: drop_connection_on_call")


def _start_of(req: Request) -> int | None:
    try:
        return req.integer("START")
    except ServiceError:
        return None


class SandboxApp:
    """A SoftOne /s1services endpoint over seeded data; `.state` is there for in-process inspection."""

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.state = SandboxState(config or SandboxConfig())

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path.rstrip("/") == "/s1services" or path.startswith("/s1services/"):
            return self._softone(environ, start_response)
        if path.rstrip("/") == "/_sandbox" or path.startswith("/_sandbox/"):
            return admin.handle(self.state, environ, start_response)
        return _respond(start_response, 404, b"Not Found", "text/plain")

    def _softone(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = environ.get("QUERY_STRING", "").split("&")[0].split("=")[0].lower()
        if query == "ping":
            return _respond(start_response, 200, PING_TEXT.encode("ascii"), "text/plain")
        if query == "refresh":
            return _respond(start_response, 200, b"OK", "text/plain")
        try:
            req = Request(decode_request(_read_body(environ)))
            if environ.get("PATH_INFO", "").rstrip("/") != "/s1services":
                raise ServiceError(UNKNOWN_SERVICE, detail="no custom /s1services/JS/ endpoints in the sandbox")
        except ServiceError as exc:
            return self._answer(start_response, exc.body())
        state = self.state
        with state.lock:
            state.stats.count_call(services.canonical_name(req.service) or "(none)")
            fired = state.faults.on_call(req.service, _start_of(req))
        if "drop_connection_on_call" in fired:
            _drop_connection(environ)
        if "slow_page_seconds" in fired:
            time.sleep(float(fired["slow_page_seconds"].params["seconds"]))
        if "http_500_on_call" in fired:
            return _respond(start_response, 500, IIS_500.encode("ascii"), "text/html")
        if "html_error_on_call" in fired:
            status = int(fired["html_error_on_call"].params["status"])
            return _respond(start_response, status, PROXY_ERROR.format(status=status).encode(), "text/html")
        truncate = "truncated_gzip_on_call" in fired
        return self._answer(start_response, self._run(req, fired.get("fail_on_call")), truncate=truncate)

    def _run(self, req: Request, fail: Fault | None) -> dict[str, Any]:
        if fail is not None:
            return ServiceError(int(fail.params["errorcode"]), str(fail.params["error"])).body()
        with self.state.lock:
            try:
                self.state.sessions.check_licences(req.service, self.state.config)
                return services.call(self.state, req)
            except ServiceError as exc:
                return exc.body()

    def _answer(self, start_response: StartResponse, payload: dict[str, Any], *,
                truncate: bool = False) -> Iterable[bytes]:
        state = self.state
        with state.lock:
            config = state.config
            if payload.get("success") is False:
                state.stats.count_error(int(payload.get("errorcode", 0)))
            state.responses += 1
            compress = config.gzip_some and state.responses % config.gzip_every == 0
        body = encode_json(payload, cp1253=config.cp1253_bodies, raw_tabs=config.raw_tabs)
        content_type = JSON_CP1253 if config.cp1253_bodies else JSON_UTF8
        if truncate:
            return _truncated_gzip(start_response, body, content_type)
        if compress:
            body = gzip_bytes(body)
        return _respond(start_response, 200, body, content_type)


def create_app(config: SandboxConfig | None = None) -> SandboxApp:
    """A new sandbox WSGI app over its own seeded state."""
    return SandboxApp(config)
