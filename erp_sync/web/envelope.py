"""The response envelope and the request parsing shared by every endpoint (JSON bodies, whole numbers, flags).

Success: `{"success": true, "data": ..., "meta": {"requestId", "timestamp"}}`; failure: `{"success": false,
"error": {"code", "message", "field"?, "details"?}, "meta": {...}}`. An incoming X-Request-ID is kept.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Response, g, request

from erp_sync.errors import ErpSyncError
from erp_sync.web import json_input

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def assign_request_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _meta(request_id: str | None) -> dict[str, Any]:
    return {"requestId": request_id,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def _json(body: dict[str, Any], status: int) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                        mimetype="application/json")
    response.headers["X-Request-ID"] = getattr(g, "request_id", "")
    return response


def ok(data: Any, status: int = 200) -> Response:
    return _json({"success": True, "data": data, "meta": _meta(getattr(g, "request_id", None))}, status)


def failure_body(code: str, message: str, request_id: str | None, *, field: str | None = None,
                 details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The failure envelope as a dict; also made outside Flask, for errors the HTTP server answers itself."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if details:
        error["details"] = details
    return {"success": False, "error": error, "meta": _meta(request_id)}


def failure(code: str, message: str, status: int, *, field: str | None = None,
            details: dict[str, Any] | None = None) -> Response:
    body = failure_body(code, message, getattr(g, "request_id", None), field=field, details=details)
    return _json(body, status)


def json_body(*, optional: bool = False) -> Any:
    """The request's JSON body; refuses a wrong content type, malformed or too deeply nested JSON, numbers out of
    range, or (unless optional) an empty body. Every route reads its body here."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise ErpSyncError("the request needs a JSON body", code="VALIDATION_ERROR")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ErpSyncError(f"send the body as application/json (got {mimetype or 'no content type'})",
                           code="UNSUPPORTED_MEDIA_TYPE")
    return json_input.decode(raw)


_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    """A whole-number query parameter in ASCII digits (no `_`, no Unicode digits, no spaces) within the limits."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    limits = f"between {minimum} and {maximum}"
    if not _WHOLE_NUMBER.fullmatch(raw):
        raise ErpSyncError(f"{name} must be a whole number {limits} in the digits 0-9", code="VALIDATION_ERROR",
                           field=name)
    if len(raw.lstrip("-0")) > len(str(max(abs(minimum), abs(maximum)))) or not minimum <= int(raw) <= maximum:
        raise ErpSyncError(f"{name} must be {limits}", code="VALIDATION_ERROR", field=name)
    return int(raw)


_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off", ""})


def bool_arg(value: Any, name: str) -> bool:
    """A flag: a JSON boolean, or (in a query or a body) one of the spellings below in any case; absent is false."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = value.strip().lower() if isinstance(value, str) else None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ErpSyncError(f"{name} must be true or false (also accepted: \"true\"/\"false\", \"1\"/\"0\", "
                       "\"yes\"/\"no\", \"on\"/\"off\")", code="VALIDATION_ERROR", field=name)
