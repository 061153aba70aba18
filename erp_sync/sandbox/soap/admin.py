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

from ..admin import AdminError, answer, rows_route, steering_routes
from .state import SoapSandboxState

StartResponse = Callable[..., Any]


def _reset(state: SoapSandboxState) -> dict[str, bool]:
    state.reset()
    return {"reset": True}


def _route(state: SoapSandboxState, method: str, parts: list[str], environ: dict[str, Any]) -> tuple[str, Any]:
    if parts and parts[0] == "rows" and len(parts) >= 2:
        return rows_route(state, method, parts, environ, str, "No")
    routes = steering_routes(state, environ) | {
        ("POST", "reset"): lambda: _reset(state),
        ("GET", "writes"): state.write_log,
    }
    route = routes.get((method, "/".join(parts)))
    if route is None:
        raise AdminError("404 Not Found", f"no admin endpoint {method} /_sandbox/{'/'.join(parts)}")
    return "200 OK", route()


def handle(state: SoapSandboxState, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Serve one /_sandbox/ request."""
    return answer(environ, start_response, state.config.admin_token,
                  lambda method, parts: _route(state, method, parts, environ))
