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

from ..admin import answer, steered_route
from .state import SoapSandboxState

StartResponse = Callable[..., Any]


def _reset(state: SoapSandboxState) -> dict[str, bool]:
    state.reset()
    return {"reset": True}


def _route(state: SoapSandboxState, method: str, parts: list[str], environ: dict[str, Any]) -> tuple[str, Any]:
    return steered_route(state, method, parts, environ, key_of=str, created_as="No", own={
        ("POST", "reset"): lambda: _reset(state),
        ("GET", "writes"): state.write_log,
    })


def handle(state: SoapSandboxState, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Serve one /_sandbox/ request."""
    return answer(environ, start_response, state.config.admin_token,
                  lambda method, parts: _route(state, method, parts, environ))
