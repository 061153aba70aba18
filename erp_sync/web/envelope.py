"""The response envelope and request-body parsing shared by every endpoint.

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

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def assign_request_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _meta() -> dict[str, Any]:
    return {"requestId": getattr(g, "request_id", None),
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}


def _json(body: dict[str, Any], status: int) -> Response:
    response = Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                        mimetype="application/json")
    response.headers["X-Request-ID"] = getattr(g, "request_id", "")
    return response


def ok(data: Any, status: int = 200) -> Response:
    return _json({"success": True, "data": data, "meta": _meta()}, status)


def failure(code: str, message: str, status: int, *, field: str | None = None,
            details: dict[str, Any] | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    if details:
        error["details"] = details
    return _json({"success": False, "error": error, "meta": _meta()}, status)


def json_body(*, optional: bool = False) -> Any:
    """The request's JSON body; refuses a wrong content type, malformed JSON or (optionally) an empty body."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        if optional:
            return {}
        raise ErpSyncError("the request needs a JSON body", code="VALIDATION_ERROR")
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ErpSyncError(f"send the body as application/json (got {mimetype or 'no content type'})",
                           code="UNSUPPORTED_MEDIA_TYPE")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ErpSyncError(f"the body is not valid JSON: {exc}", code="MALFORMED_JSON") from None


def int_arg(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ErpSyncError(f"{name} must be a whole number", code="VALIDATION_ERROR", field=name) from None
    if not minimum <= value <= maximum:
        raise ErpSyncError(f"{name} must be between {minimum} and {maximum}", code="VALIDATION_ERROR", field=name)
    return value


def bool_arg(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ErpSyncError(f"{name} must be true or false", code="VALIDATION_ERROR", field=name)
