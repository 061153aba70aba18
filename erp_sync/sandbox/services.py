"""The service table of /s1services and the session services: login (two-step and one-step), authenticate,
changePassword.

`call` looks the service up case-insensitively (unknown → -12), checks the clientID and appId for every service
but login and authenticate, and runs the handler. Handlers return the success body or raise ServiceError.
Credentials: the config's username/password (bad → -1 "Login fails ..."), appId (not the configured one → -3),
and one company/branch/module/refid environment (anything else → -2 at authenticate or one-step login).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import browser, discovery, queries, records
from .protocol import (
    BAD_CREDENTIALS,
    LOGIN_FAILED_TEXT,
    MODULE_NOT_ACTIVE,
    NOT_LOGGED_IN,
    UNKNOWN_SERVICE,
    Request,
    ServiceError,
    as_text,
)

if TYPE_CHECKING:
    from .state import SandboxState

Handler = Callable[["SandboxState", Request], dict[str, Any]]

SERVER_VERSION = "6.00.622.11560"
SERIAL_NUMBER = "01100299887766"
COMPANY_NAME = "Demo Company SA"
ENVIRONMENT_KEYS = ("COMPANY", "BRANCH", "MODULE", "REFID")


def _server_info(state: SandboxState) -> dict[str, Any]:
    return {"ver": SERVER_VERSION, "sn": SERIAL_NUMBER, "off": False, "pin": False, "appid": state.config.app_id}


def _environment(state: SandboxState) -> dict[str, str]:
    config = state.config
    return {
        "COMPANY": config.company,
        "COMPANYNAME": COMPANY_NAME,
        "BRANCH": config.branch,
        "BRANCHNAME": "Αθήνα",
        "MODULE": config.module,
        "MODULENAME": "<Blank>",
        "REFID": config.refid,
        "REFIDNAME": "Administrator",
        "USERID": config.refid,
        "FINALDATE": "1899-12-30 00:00:00",
        "ROLES": "",
        "XSECURITY": "0",
        "EXPTIME": "",
    }


def _authenticated_extras(state: SandboxState) -> dict[str, Any]:
    config = state.config
    info = f"{COMPANY_NAME}|{config.company}|Αθήνα|{config.branch}"
    return {
        "s1u": int(config.refid) if config.refid.isdigit() else config.refid,
        "hyperlinks": 1,
        "canexport": 1,
        "image": "",
        "companyinfo": info,
    }


def _check_environment(state: SandboxState, req: Request) -> None:
    """-2 unless COMPANY and BRANCH (and MODULE/REFID when sent) name the one environment the account has."""
    expected = dict(
        zip(
            ENVIRONMENT_KEYS,
            (state.config.company, state.config.branch, state.config.module, state.config.refid),
            strict=True,
        )
    )
    for key, value in expected.items():
        required = key in ("COMPANY", "BRANCH")
        if (required or req.has(key)) and req.text(key) != value:
            raise ServiceError(BAD_CREDENTIALS)


def login(state: SandboxState, req: Request) -> dict[str, Any]:
    """login: a temporary clientID plus `objs`, or with COMPANY/BRANCH/... the final clientID at once."""
    config = state.config
    if req.text("username").casefold() != config.username.casefold() or req.text("password") != config.password:
        raise ServiceError(NOT_LOGGED_IN, LOGIN_FAILED_TEXT)
    app_id = req.text("appId")
    if app_id != config.app_id:
        raise ServiceError(MODULE_NOT_ACTIVE)
    one_step = any(req.has(key) for key in ENVIRONMENT_KEYS)
    if one_step:
        _check_environment(state, req)
    session = state.sessions.open(app_id, final=one_step, now=config.timestamp())
    state.stats.logins += 1
    body: dict[str, Any] = {"success": True, "clientID": session.client_id}
    if one_step:
        body.update(_authenticated_extras(state))
    else:
        body["objs"] = [_environment(state)]
    body.update(_server_info(state))
    return body


def authenticate(state: SandboxState, req: Request) -> dict[str, Any]:
    """authenticate: trade the temporary clientID and an environment for a new, final clientID."""
    temporary = state.sessions.use(req.text("clientID"), req.text("appId"), state.config, temporary=True)
    _check_environment(state, req)
    session = state.sessions.open(temporary.app_id, final=True, now=state.config.timestamp())
    state.stats.authenticates += 1
    return {"success": True, "clientID": session.client_id, **_authenticated_extras(state)}


def change_password(state: SandboxState, req: Request) -> dict[str, Any]:
    """changePassword: `old` must be the current password; the new one holds until reset."""
    if req.text("old") != state.config.password or not req.text("new"):
        raise ServiceError(BAD_CREDENTIALS)
    state.config.password = req.text("new")
    return {"success": True}


SERVICES: dict[str, tuple[str, Handler]] = {
    name.lower(): (name, handler)
    for name, handler in (
        ("login", login),
        ("authenticate", authenticate),
        ("changePassword", change_password),
        ("getObjects", discovery.get_objects),
        ("getObjectTables", discovery.get_object_tables),
        ("getTableFields", discovery.get_table_fields),
        ("getBrowserInfo", browser.get_browser_info),
        ("getBrowserData", browser.get_browser_data),
        ("getData", records.get_data),
        ("setData", records.set_data),
        ("delData", records.del_data),
        ("selectorFields", records.selector_fields),
        ("SqlData", queries.sql_data),
        ("GetTable", queries.get_table),
    )
}
OPEN_SERVICES = ("login", "authenticate")


def canonical_name(service: str) -> str:
    """The documented spelling of a service name sent in any case ('' stays '', unknown stays as sent)."""
    entry = SERVICES.get(service.lower())
    return entry[0] if entry else service


def call(state: SandboxState, req: Request) -> dict[str, Any]:
    """Run one /s1services request and return its success body; ServiceError for application errors."""
    entry = SERVICES.get(req.service)
    if entry is None:
        raise ServiceError(UNKNOWN_SERVICE)
    name, handler = entry
    if name not in OPEN_SERVICES:
        client_id = as_text(req.get("clientID"))
        if not client_id:
            raise ServiceError(NOT_LOGGED_IN)
        state.sessions.use(client_id, req.text("appId"), state.config)
    return handler(state, req)
