"""The admin surface under /_sandbox/: JSON (UTF-8) endpoints tests use to inspect and steer a running sandbox.

    GET    /_sandbox/stats                 counters, active sessions, live reqIDs, fired faults, row counts
    POST   /_sandbox/reset                 seeded rows, initial config, zero counters; {"sessions": true} also
                                           forgets every clientID
    GET    /_sandbox/rows/<OBJECT>         current rows as objects (?start=&limit= to window them)
    POST   /_sandbox/rows/<OBJECT>         insert {FIELD: value}; answers {"id": "<key>"}
    GET    /_sandbox/rows/<OBJECT>/<id>    one row
    PATCH  /_sandbox/rows/<OBJECT>/<id>    change fields; UPDDATE becomes the sandbox's Athens now unless sent
    POST   /_sandbox/rows/<OBJECT>/touch   the same change to every Nth row in key order: {"every": N,
                                           "offset": 0, "fields": {FIELD: value}}; answers {"touched": count}
    DELETE /_sandbox/rows/<OBJECT>/<id>    delete
    GET    /_sandbox/faults                armed faults;  POST sets switches (faults.py);  DELETE clears all
    GET    /_sandbox/config                the config;  POST changes runtime switches (config.RUNTIME_FIELDS)
    POST   /_sandbox/sessions/expire       expire every clientID now
    GET    /_sandbox/setdata-log           setData requests received, passwords redacted

With `admin_token` set in the config, every request needs the header `X-Sandbox-Token: <token>`.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

from .encoding import admin_json
from .state import SandboxState

StartResponse = Callable[..., Any]


class AdminError(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _body(environ: dict[str, Any]) -> dict[str, Any]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        payload = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise AdminError("400 Bad Request", f"body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise AdminError("400 Bad Request", "body must be a JSON object")
    return payload


def _key(text: str) -> int:
    if not text.isdigit():
        raise AdminError("404 Not Found", f"no row {text!r}")
    return int(text)


class SteeredState(Protocol):
    """What the routes both sandboxes answer alike need of a sandbox's state (an object or page name first)."""

    def stats_view(self) -> dict[str, Any]: ...
    def pending_faults(self) -> dict[str, Any]: ...
    def set_faults(self, payload: dict[str, Any], /) -> dict[str, Any]: ...
    def configure(self, changes: dict[str, Any], /) -> dict[str, Any]: ...
    def rows(self, name: str, start: int, limit: int | None, /) -> list[dict[str, str]]: ...
    def row(self, name: str, key: Any, /) -> dict[str, str] | None: ...
    def insert_row(self, name: str, fields: dict[str, Any], /) -> Any: ...
    def patch_row(self, name: str, key: Any, fields: dict[str, Any], /) -> dict[str, str]: ...
    def touch_rows(self, name: str, every: int, fields: dict[str, Any], offset: int, /) -> int: ...
    def delete_row(self, name: str, key: Any, /) -> None: ...


Routes = dict[tuple[str, str], Callable[[], Any]]  # (method, path below /_sandbox/) -> the answer's payload


def steered_route(state: SteeredState, method: str, parts: list[str], environ: dict[str, Any], *,
                  key_of: Callable[[str], Any], created_as: str, own: Routes) -> tuple[str, Any]:
    """One admin request of either sandbox: its rows (`rows_route`), the routes both answer alike, then `own`."""
    if parts and parts[0] == "rows" and len(parts) >= 2:
        return rows_route(state, method, parts, environ, key_of, created_as)
    route = (_steering_routes(state, environ) | own).get((method, "/".join(parts)))
    if route is None:
        raise AdminError("404 Not Found", f"no admin endpoint {method} /_sandbox/{'/'.join(parts)}")
    return "200 OK", route()


def _steering_routes(state: SteeredState, environ: dict[str, Any]) -> Routes:
    """The routes both sandboxes answer alike: stats, faults, config."""
    return {
        ("GET", "stats"): state.stats_view,
        ("GET", "faults"): state.pending_faults,
        ("POST", "faults"): lambda: state.set_faults(_body(environ)),
        ("DELETE", "faults"): lambda: state.set_faults({"clear": True}),
        ("GET", "config"): lambda: state.configure({}),
        ("POST", "config"): lambda: state.configure(_body(environ)),
    }


def rows_route(state: SteeredState, method: str, parts: list[str], environ: dict[str, Any],
               key_of: Callable[[str], Any], created_as: str) -> tuple[str, Any]:
    """/_sandbox/rows/<name>[/<key>|/touch] of either sandbox; `key_of` reads a key from the path (AdminError 404
    for one that cannot be), `created_as` names the new row's key in the answer to an insert."""
    name = parts[1]
    if len(parts) == 2 and method == "GET":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        limit = int(query["limit"][0]) if "limit" in query else None
        return "200 OK", state.rows(name, int(query.get("start", ["0"])[0]), limit)
    if len(parts) == 2 and method == "POST":
        return "201 Created", {created_as: str(state.insert_row(name, _body(environ)))}
    if len(parts) != 3:
        raise AdminError("404 Not Found", "no such admin path")
    if parts[2] == "touch" and method == "POST":
        body = _body(environ)
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            raise AdminError("400 Bad Request", "fields must be an object of FIELD: value")
        return "200 OK", {"touched": state.touch_rows(name, body.get("every", 1), fields, body.get("offset", 0))}
    key = key_of(parts[2])
    if method == "GET":
        row = state.row(name, key)
        if row is None:
            raise AdminError("404 Not Found", f"{name} {key} does not exist")
        return "200 OK", row
    if method == "PATCH":
        return "200 OK", state.patch_row(name, key, _body(environ))
    if method == "DELETE":
        state.delete_row(name, key)
        return "200 OK", {"deleted": str(key)}
    raise AdminError("405 Method Not Allowed", f"{method} not allowed here")


def _reset(state: SandboxState, environ: dict[str, Any]) -> dict[str, bool]:
    state.reset(sessions=bool(_body(environ).get("sessions")))
    return {"reset": True}


def _route(state: SandboxState, method: str, parts: list[str], environ: dict[str, Any]) -> tuple[str, Any]:
    return steered_route(state, method, parts, environ, key_of=_key, created_as="id", own={
        ("POST", "reset"): lambda: _reset(state, environ),
        ("POST", "sessions/expire"): lambda: {"expired": state.expire_sessions()},
        ("GET", "setdata-log"): state.setdata_requests,
    })


def handle(state: SandboxState, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Serve one /_sandbox/ request."""
    return answer(environ, start_response, state.config.admin_token,
                  lambda method, parts: _route(state, method, parts, environ))


def answer(environ: dict[str, Any], start_response: StartResponse, token: str | None,
           route: Callable[[str, list[str]], tuple[str, Any]]) -> Iterable[bytes]:
    """One admin request of any sandbox: the token check, `route(method, path parts)`, errors as JSON."""
    parts = [unquote(p) for p in environ.get("PATH_INFO", "").split("/")[2:] if p]
    method = environ.get("REQUEST_METHOD", "GET").upper()
    try:
        if token and not hmac.compare_digest(environ.get("HTTP_X_SANDBOX_TOKEN", "").encode(), token.encode()):
            raise AdminError("401 Unauthorized", "X-Sandbox-Token missing or wrong")
        status, payload = route(method, parts)
    except AdminError as exc:
        status, payload = exc.status, {"error": str(exc)}
    except LookupError as exc:
        status, payload = "404 Not Found", {"error": str(exc.args[0] if exc.args else exc)}
    except ValueError as exc:
        status, payload = "400 Bad Request", {"error": str(exc)}
    body = admin_json(payload)
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
