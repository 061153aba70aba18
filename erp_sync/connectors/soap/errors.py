"""What a SOAP failure means for erp-sync: zeep's faults and transport errors, and requests' own, turned into
the connector error families (fatal, retriable, skippable) with the codes SoftOne's errors use.

    HTTP 401                       ERP_BAD_CREDENTIALS   fatal
    HTTP 403, a permission fault   ERP_ACCOUNT_PROBLEM   fatal
    HTTP 408/429/5xx, no answer    ERP_UNAVAILABLE       retriable (ERP_TIMEOUT when the time ran out)
    a record-changed fault         ERP_RECORD_CHANGED    skippable: the record's Key is stale
    another fault on a write       ERP_BUSINESS_ERROR    skippable: the record is refused, the run goes on
    another fault on a read        ERP_ERROR             fatal (a record that does not exist included)
    an answer that is not SOAP     ERP_BAD_RESPONSE      fatal

Messages name the operation, the page and the WSDL address without user info; never a credential.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from zeep.exceptions import Fault, TransportError, XMLSyntaxError

from erp_sync.connectors.base import (
    AccountProblemError,
    BadCredentialsError,
    BadResponseError,
    ConnectorError,
    ErpTimeoutError,
    FatalConnectorError,
    RetriableConnectorError,
    SkippableConnectorError,
)

_RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_RECORD_CHANGED = re.compile(r"RecordChanged|another user has modified", re.IGNORECASE)
_PERMISSION = re.compile(r"Permission|do not have (the following )?permission", re.IGNORECASE)
_NOT_FOUND = re.compile(r"RecordNotFound|does not exist", re.IGNORECASE)


class RecordChangedError(SkippableConnectorError):
    """The record's version (NAV's Key) is no longer the current one: someone changed it in the ERP."""

    code = "ERP_RECORD_CHANGED"


def fault_kind(fault: Fault) -> str:
    """record_changed, permission, not_found or other, from the fault's code and message."""
    text = f"{fault.code or ''} {fault.message or ''}"
    if _RECORD_CHANGED.search(text):
        return "record_changed"
    if _PERMISSION.search(str(fault.code or "")) or _PERMISSION.search(str(fault.message or "")):
        return "permission"
    if _NOT_FOUND.search(text):
        return "not_found"
    return "other"


def translate(exc: Exception, *, operation: str, where: str, page: int | None = None,
              write: bool = False) -> ConnectorError:
    """The connector error `exc` stands for; `where` is the shown WSDL address."""
    at = f"SOAP {operation}" + (f" (page {page})" if page else "")
    details: dict[str, Any] = {"service": operation}
    if isinstance(exc, Fault):
        return _from_fault(exc, at, page, write, details)
    if isinstance(exc, TransportError | requests.HTTPError):
        response = exc.response if isinstance(exc, requests.HTTPError) else None
        status = exc.status_code if isinstance(exc, TransportError) else getattr(response, "status_code", 0)
        return _from_status(int(status or 0), at, where, page, details)
    if isinstance(exc, requests.Timeout):
        sent = not isinstance(exc, requests.ConnectTimeout)
        hint = "; if pages keep timing out, a smaller source.pageSize makes each one quicker" if page else ""
        return ErpTimeoutError(f"{at} at {where} timed out ({type(exc).__name__}){hint}", page=page,
                               details={**details, "mayHaveBeenApplied": sent})
    if isinstance(exc, requests.ConnectionError):
        refused = isinstance(exc.args[0] if exc.args else None, Exception) and "refused" in str(exc).lower()
        return RetriableConnectorError(f"{at}: {where} unreachable ({type(exc).__name__}); check connection.wsdlUrl "
                                       "and that the service is up", page=page,
                                       details={**details, "mayHaveBeenApplied": not refused})
    if isinstance(exc, XMLSyntaxError | ValueError):
        return BadResponseError(f"{at}: the answer from {where} is not the SOAP the WSDL promises: "
                                f"{str(exc)[:200]}", page=page, details=details)
    return FatalConnectorError(f"{at} failed: {type(exc).__name__}: {str(exc)[:200]}", page=page, details=details)


def _from_fault(fault: Fault, at: str, page: int | None, write: bool, details: dict[str, Any]) -> ConnectorError:
    message = (fault.message or "no message").strip()
    kind = fault_kind(fault)
    details = {**details, "faultCode": str(fault.code or "")}
    if kind == "record_changed":
        return RecordChangedError(message, page=page, details=details)
    if kind == "permission":
        return AccountProblemError(f"{at} refused: {message}; the service user needs that permission from the "
                                   "ERP administrator", page=page, details=details)
    if write:
        return SkippableConnectorError(message, page=page, details=details)
    return FatalConnectorError(f"{at} failed: {message}", code="ERP_ERROR", page=page, details=details)


def _from_status(status: int, at: str, where: str, page: int | None, details: dict[str, Any]) -> ConnectorError:
    details = {**details, "httpStatus": status}
    if status == 401:
        return BadCredentialsError(f"{at}: {where} refused the login (HTTP 401); check the integration's "
                                   "connection.username, connection.password and connection.auth", page=page,
                                   details=details)
    if status == 403:
        return AccountProblemError(f"{at}: {where} answered HTTP 403; the service user may not use this service",
                                   page=page, details=details)
    if status in _RETRIED_STATUSES:
        return RetriableConnectorError(f"{at}: {where} answered HTTP {status}", page=page,
                                       details={**details, "mayHaveBeenApplied": status >= 500})
    return BadResponseError(f"{at}: {where} answered HTTP {status}; check connection.wsdlUrl", page=page,
                            details=details)
