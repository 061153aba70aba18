"""SoapSandboxApp: the WSGI callable. /WS/<Company>/Page/<Page> serves a page's WSDL (GET) and its operations
(POST, SOAP 1.1); /_sandbox/ is the admin surface (admin.py).

A SOAP call goes: the `failing` switch (HTTP 503, as IIS answers for a stopped service tier), authentication
(HTTP basic, or a WS-Security UsernameToken when the sandbox is set to `wsse`; a wrong one is HTTP 401 and never
a fault), the armed fault switches, `slow_seconds` (plus a fired `slow_on_call`'s seconds), then the operation
under the state lock. Faults are HTTP 500 with a SOAP fault body, as NAV sends them.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hmac
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from ..app import _drop_connection, _read_body
from . import admin, envelope, wsdl
from .config import SoapSandboxConfig
from .envelope import Call, SoapFault
from .faults import KINDS
from .pages import PageSpec, lookup_page
from .state import SoapSandboxState

StartResponse = Callable[..., Any]
UNAVAILABLE = (b"<!DOCTYPE html><html><head><title>Service Unavailable</title></head><body><h1>Service Unavailable"
               b"</h1><p>HTTP Error 503. The service is unavailable.</p></body></html>")


def _respond(start_response: StartResponse, status: str, body: bytes, content_type: str,
             extra: list[tuple[str, str]] | None = None) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                            ("Server", "Microsoft-HTTPAPI/2.0"), *(extra or [])])
    return [body]


def _basic_credentials(environ: dict[str, Any]) -> tuple[str, str] | None:
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


class SoapSandboxApp:
    """NAV-style page services over seeded data; `.state` is there for in-process inspection."""

    def __init__(self, config: SoapSandboxConfig | None = None) -> None:
        self.state = SoapSandboxState(config or SoapSandboxConfig())

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = unquote(environ.get("PATH_INFO") or "/")
        if path.rstrip("/") == "/_sandbox" or path.startswith("/_sandbox/"):
            return admin.handle(self.state, environ, start_response)
        parts = [p for p in path.split("/") if p]
        config = self.state.config
        page = lookup_page(parts[3]) if len(parts) == 4 and parts[0] == "WS" and parts[2] == "Page" else None
        if page is None or parts[1] != config.company:
            return _respond(start_response, "404 Not Found", b"No web service is published at this address",
                            "text/plain")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method == "GET":
            return self._wsdl(environ, start_response, page)
        if method == "POST":
            return self._soap(environ, start_response, page)
        return _respond(start_response, "405 Method Not Allowed", b"GET the WSDL, POST SOAP", "text/plain")

    def _authorized(self, environ: dict[str, Any], call: Call | None) -> bool:
        config = self.state.config
        if config.auth == "wsse":
            if call is None:
                return True  # NAV configured for WS-Security publishes its WSDL openly
            given = (call.username or "", call.password or "")
        else:
            given = _basic_credentials(environ) or ("", "")
        ok = hmac.compare_digest(given[0].encode(), config.username.encode()) and hmac.compare_digest(
            given[1].encode(), config.password.encode())
        if not ok:
            with self.state.lock:
                self.state.stats.auth_failures += 1
        return ok

    def _unauthorized(self, start_response: StartResponse) -> list[bytes]:
        return _respond(start_response, "401 Unauthorized", b"401 - Unauthorized: Access is denied", "text/html",
                        [("WWW-Authenticate", 'Basic realm="erp-sync SOAP sandbox"')])

    def _wsdl(self, environ: dict[str, Any], start_response: StartResponse, page: PageSpec) -> Iterable[bytes]:
        if not self._authorized(environ, None):
            return self._unauthorized(start_response)
        with self.state.lock:
            self.state.stats.wsdl_fetches += 1
        host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
        location = f"http://{host}/WS/{self.state.config.company}/Page/{page.name}"
        return _respond(start_response, "200 OK", wsdl.render(page, location), "text/xml; charset=utf-8")

    def _soap(self, environ: dict[str, Any], start_response: StartResponse, page: PageSpec) -> Iterable[bytes]:
        state = self.state
        if state.config.failing:
            with state.lock:
                state.stats.count_call("(failing)")
            return _respond(start_response, "503 Service Unavailable", UNAVAILABLE, "text/html")
        try:
            call = envelope.parse_request(_read_body(environ))
        except SoapFault as fault:
            return self._fault(environ, start_response, fault)
        if not self._authorized(environ, call):
            return self._unauthorized(start_response)
        with state.lock:
            state.stats.count_call(call.operation)
            fired = state.faults.on_soap_call(call.operation, page.name)
            slow = state.config.slow_seconds
            if "slow_on_call" in fired:
                slow += float(fired["slow_on_call"].params["seconds"])
        if "drop_connection_on_call" in fired:
            _drop_connection(environ)
        if slow:
            time.sleep(slow)
        if "http_status_on_call" in fired:
            status = int(fired["http_status_on_call"].params["status"])
            return _respond(start_response, f"{status} Error", UNAVAILABLE, "text/html")
        if "fault_on_call" in fired:
            params = fired["fault_on_call"].params
            return self._fault(environ, start_response, SoapFault(KINDS[params["kind"]], params["message"]))
        return self._operation(environ, start_response, page, call)

    def _operation(self, environ: dict[str, Any], start_response: StartResponse, page: PageSpec,
                   call: Call) -> Iterable[bytes]:
        state = self.state
        if call.namespace != page.namespace:
            return self._fault(environ, start_response, SoapFault(
                envelope.SERVICE, f"The operation {call.operation} is not in {page.namespace}"))
        try:
            with state.lock:
                content, count = state.services[page.name].call(call, state.config.max_set_size)
                state.stats.rows_served += count
        except SoapFault as fault:
            return self._fault(environ, start_response, fault)
        return self._answer(environ, start_response, "200 OK", envelope.envelope(content))

    def _fault(self, environ: dict[str, Any], start_response: StartResponse, fault: SoapFault) -> Iterable[bytes]:
        with self.state.lock:
            self.state.stats.faults += 1
        return self._answer(environ, start_response, "500 Internal Server Error", envelope.fault_xml(fault))

    def _answer(self, environ: dict[str, Any], start_response: StartResponse, status: str,
                text: str) -> Iterable[bytes]:
        config = self.state.config
        body, charset = envelope.encode(text, config.legacy_encoding)
        extra: list[tuple[str, str]] = []
        if config.gzip and "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
            body = gzip.compress(body, compresslevel=1)
            extra.append(("Content-Encoding", "gzip"))
        return _respond(start_response, status, body, f"text/xml; charset={charset}", extra)


def create_app(config: SoapSandboxConfig | None = None) -> SoapSandboxApp:
    return SoapSandboxApp(config)
