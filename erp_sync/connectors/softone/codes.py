"""SoftOne's error codes (docs/softone.md#errors) and what erp-sync does about each one.

A `success:false` body is classified by its `errorcode` first and by its message only when the code is missing or
not in the table. The same code can mean different things depending on the service that answered: `-1` is bad
credentials when `login` says it and "not logged in" anywhere else. `error_for` turns a failure body into the
exception the caller acts on; `SessionExpiredError` and `ReqIdLostError` are signals the session and the
paginator catch (re-login once, reopen the browser), and only escape when that did not help.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

from erp_sync.connectors.base import (
    AccountProblemError,
    BadCredentialsError,
    ConnectorError,
    FatalConnectorError,
    RetriableConnectorError,
    SkippableConnectorError,
)


class SessionExpiredError(RetriableConnectorError):
    """The clientID is no longer valid (-1 outside login, -100, -101, -6)."""

    code = "ERP_SESSION_EXPIRED"


class ReqIdLostError(RetriableConnectorError):
    """The browser handle is gone (13, 213, 102); rerun getBrowserInfo."""

    code = "ERP_PAGING_LOST"


class Kind(enum.Enum):
    BAD_CREDENTIALS = "bad_credentials"
    ACCOUNT = "account"
    SESSION = "session"
    PAGING = "paging"
    BUSINESS = "business"
    NOT_SUPPORTED = "not_supported"
    OTHER = "other"


# code -> (message in the official table, kind)
CODE_TABLE: dict[int, tuple[str, Kind]] = {
    -101: ("Invalid Request, session has expired!", Kind.SESSION),
    -100: ("Invalid Request, session has expired!", Kind.SESSION),
    -12: ("Invalid Web Service call.", Kind.NOT_SUPPORTED),
    -11: ('Invalid Request. Licence must include a "Web Service Connector" module.', Kind.ACCOUNT),
    -10: ("Login fails. Username contains illegal characters.", Kind.BAD_CREDENTIALS),
    -9: ("Invalid Request. Ensure that your request is valid", Kind.OTHER),
    -8: ("Invalid request. User account is not active!", Kind.ACCOUNT),
    -7: ("Session has expired", Kind.ACCOUNT),
    -6: ("Invalid AppId. Ensure that your request includes a valid AppId", Kind.SESSION),
    -5: ("Web Services Licenses Exceeded!", Kind.ACCOUNT),
    -4: ("Number of registered devices exceeded!", Kind.ACCOUNT),
    -3: ("Access denied. Selected module not activated!", Kind.ACCOUNT),
    -2: ("Authenticate fails due to invalid credentials.", Kind.BAD_CREDENTIALS),
    -1: ("Invalid request. Please login first", Kind.SESSION),
    0: ("Business error", Kind.BUSINESS),
    11: ("Internal error", Kind.OTHER),
    12: ("Deprecated service", Kind.NOT_SUPPORTED),
    13: ('Invalid request, "reqID" expired.', Kind.PAGING),
    14: ("Invalid request.(WS)", Kind.OTHER),
    20: ("Internal error", Kind.OTHER),
    99: ("Internal error", Kind.OTHER),
    101: ("Invalid request. Insufficient access rights to perform the operation!", Kind.ACCOUNT),
    102: ('"ReqId" not found on Server!', Kind.PAGING),
    112: ("Invalid editor", Kind.OTHER),
    213: ('Invalid request, "reqID" expired.', Kind.PAGING),
    1001: ("Please ensure: Username, Password, User is Active and has Administrator right.", Kind.ACCOUNT),
    1002: ("Invalid domain ('DOMAIN') or already in use", Kind.ACCOUNT),
    1010: ("General Web Account Error", Kind.ACCOUNT),
    2001: ("Invalid request, Data does not exist.", Kind.OTHER),
}

# What the person reading the error can do about it, by kind (a business refusal speaks for itself).
NEXT_STEP: dict[Kind, str] = {
    Kind.BAD_CREDENTIALS: "; check the integration's connection.username and connection.password (and appId)",
    Kind.ACCOUNT: "; the SoftOne user, licence or module needs the SoftOne administrator's attention",
    Kind.NOT_SUPPORTED: "; this SoftOne installation does not offer it: check source.mode and source.object",
}

LOGIN_SERVICES = frozenset({"login", "authenticate"})
WRITE_SERVICES = frozenset({"setdata", "deldata", "calculate"})

# Used only when the code is missing or unknown; the table's own wording, matched loosely.
_MESSAGE_RULES: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (re.compile(r"reqid", re.I), Kind.PAGING),
    (re.compile(r"invalid (login )?credentials|login fails", re.I), Kind.BAD_CREDENTIALS),
    (re.compile(r"session has expired|login first|invalid appid", re.I), Kind.SESSION),
    (re.compile(r"licen[cs]e|not active|devices exceeded|access denied", re.I), Kind.ACCOUNT),
)


def parse_code(raw: Any) -> int | None:
    """The errorcode as an int; SoftOne sends it as a number, some builds as a string."""
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


def classify(service: str, code: int | None, message: str) -> Kind:
    """What a failure means for the caller, given the service that answered."""
    service = service.lower()
    if service in LOGIN_SERVICES and code == -1:
        return Kind.BAD_CREDENTIALS if service == "login" else Kind.SESSION
    if code is not None and code in CODE_TABLE and code != 0:
        return CODE_TABLE[code][1]
    if code != 0:
        for pattern, kind in _MESSAGE_RULES:
            if pattern.search(message):
                return kind
    if service in WRITE_SERVICES:
        return Kind.BUSINESS
    return Kind.OTHER


def is_failure(body: Mapping[str, Any]) -> bool:
    """True for `success:false` bodies, tolerating string and numeric spellings of the flag."""
    flag = body.get("success")
    if flag is None:
        return "errorcode" in body or "error" in body
    if isinstance(flag, str):
        return flag.strip().lower() in {"false", "0", ""}
    return not flag


def error_for(service: str, body: Mapping[str, Any], *, page: int | None = None) -> ConnectorError:
    """The exception a `success:false` body stands for."""
    code = parse_code(body.get("errorcode"))
    message = str(body.get("error") or body.get("message") or "").strip()
    if not message and code in CODE_TABLE:
        message = CODE_TABLE[code][0]
    kind = classify(service, code, message)
    text = f"SoftOne {service} failed ({code}): {message or 'no message'}{NEXT_STEP.get(kind, '')}"
    details = {"service": service}
    if kind is Kind.BAD_CREDENTIALS:
        return BadCredentialsError(text, erp_code=code, page=page, details=details)
    if kind is Kind.ACCOUNT:
        return AccountProblemError(text, erp_code=code, page=page, details=details)
    if kind is Kind.SESSION:
        return SessionExpiredError(text, erp_code=code, page=page, details=details)
    if kind is Kind.PAGING:
        return ReqIdLostError(text, erp_code=code, page=page, details=details)
    if kind is Kind.BUSINESS:
        return SkippableConnectorError(message or text, erp_code=code, page=page, details=details)
    if kind is Kind.NOT_SUPPORTED:
        return FatalConnectorError(text, code="ERP_NOT_SUPPORTED", erp_code=code, page=page, details=details)
    return FatalConnectorError(text, code="ERP_ERROR", erp_code=code, page=page, details=details)
