"""The admin surface under /_sandbox/ of the SOAP sandbox: JSON endpoints tests use to inspect and steer it.

    GET    /_sandbox/stats                 counters (requests, calls by operation, WSDL fetches, auth failures,
                                           faults answered, rows served), fired fault switches, record counts
    POST   /_sandbox/reset                 seeded records, initial config, zero counters, no faults
    GET    /_sandbox/rows/<Page>           current records with their Key (?start=&limit=)
    POST   /_sandbox/rows/<Page>           add a record {Field: value}; answers {"No": "..."}
    GET    /_sandbox/rows/<Page>/<No>      one record
    PATCH  /_sandbox/rows/<Page>/<No>      change fields as a NAV user would (new Key, Last_Date_Modified today)
    POST   /_sandbox/rows/<Page>/touch     the same change to every Nth record: {"every", "offset", "fields"}
    DELETE /_sandbox/rows/<Page>/<No>      delete
    GET    /_sandbox/faults                armed switches; POST arms them (faults.py); DELETE clears all
    GET    /_sandbox/config                the config; POST changes runtime switches (config.RUNTIME_FIELDS)
    GET    /_sandbox/writes                Create, Update and Delete requests received, with the fields they sent

With `admin_token` set, every request needs the header `X-Sandbox-Token: <token>`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from ..admin import AdminError, _body, answer
from .state import SoapSandboxState

StartResponse = Callable[..., Any]


def _rows(state: SoapSandboxState, method: str, parts: list[str], environ: dict[str, Any]) -> tuple[str, Any]:
    page = parts[1]
    if len(parts) == 2 and method == "GET":
        query = parse_qs(environ.get("QUERY_STRING", ""))
        limit = int(query["limit"][0]) if "limit" in query else None
        return "200 OK", state.rows(page, int(query.get("start", ["0"])[0]), limit)
    if len(parts) == 2 and method == "POST":
        return "201 Created", {"No": state.insert_row(page, _body(environ))}
    if len(parts) != 3:
        raise AdminError("404 Not Found", "no such admin path")
    if parts[2] == "touch" and method == "POST":
        body = _body(environ)
        fields = body.get("fields") or {}
        if not isinstance(fields, dict):
            raise AdminError("400 Bad Request", "fields must be an object of Field: value")
        return "200 OK", {"touched": state.touch_rows(page, body.get("every", 1), fields, body.get("offset", 0))}
    number = parts[2]
    if method == "GET":
        row = state.row(page, number)
        if row is None:
            raise AdminError("404 Not Found", f"{page} {number} does not exist")
        return "200 OK", row
    if method == "PATCH":
        return "200 OK", state.patch_row(page, number, _body(environ))
    if method == "DELETE":
        state.delete_row(page, number)
        return "200 OK", {"deleted": number}
    raise AdminError("405 Method Not Allowed", f"{method} not allowed here")


def _reset(state: SoapSandboxState) -> dict[str, bool]:
    state.reset()
    return {"reset": True}


def _route(state: SoapSandboxState, method: str, parts: list[str], environ: dict[str, Any]) -> tuple[str, Any]:
    route = (method, "/".join(parts))
    if parts and parts[0] == "rows" and len(parts) >= 2:
        return _rows(state, method, parts, environ)
    simple: dict[tuple[str, str], Callable[[], Any]] = {
        ("GET", "stats"): state.stats_view,
        ("POST", "reset"): lambda: _reset(state),
        ("GET", "faults"): state.pending_faults,
        ("POST", "faults"): lambda: state.set_faults(_body(environ)),
        ("DELETE", "faults"): lambda: state.set_faults({"clear": True}),
        ("GET", "config"): lambda: state.configure({}),
        ("POST", "config"): lambda: state.configure(_body(environ)),
        ("GET", "writes"): state.write_log,
    }
    if route in simple:
        return "200 OK", simple[route]()
    raise AdminError("404 Not Found", f"no admin endpoint {method} /_sandbox/{'/'.join(parts)}")


def handle(state: SoapSandboxState, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Serve one /_sandbox/ request."""
    return answer(environ, start_response, state.config.admin_token,
                  lambda method, parts: _route(state, method, parts, environ))
