"""The one place that maps error codes to HTTP statuses, and the Flask error handlers that use it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, g
from werkzeug.exceptions import HTTPException

from erp_sync.errors import ErpSyncError
from erp_sync.web.envelope import failure
from erp_sync.web.ids import IdOutOfRange

log = logging.getLogger(__name__)

STATUS: dict[str, int] = {
    "VALIDATION_ERROR": 400, "MALFORMED_JSON": 400, "MALFORMED_REQUEST": 400, "INVALID_CRON": 400,
    "UNKNOWN_TIMEZONE": 400, "UNKNOWN_TABLE": 400, "UNKNOWN_COLUMN": 400, "INVALID_MAPPING": 400,
    "UNIQUE_KEY_MISSING": 400,
    "UNKNOWN_SCHEMA": 400, "UNKNOWN_OBJECT": 400, "FORBIDDEN_TARGET": 400,
    "UNAUTHORIZED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404, "NO_SYNC_JOB": 404, "METHOD_NOT_ALLOWED": 405,
    "DUPLICATE_NAME": 409, "CONFLICT": 409, "SYNC_IN_PROGRESS": 409, "INTEGRATION_INACTIVE": 409,
    "PAYLOAD_TOO_LARGE": 413, "UNSUPPORTED_MEDIA_TYPE": 415,
    "ERP_BAD_CREDENTIALS": 502, "ERP_ACCOUNT_PROBLEM": 502, "ERP_SESSION_EXPIRED": 502, "ERP_UNAVAILABLE": 502,
    "ERP_TIMEOUT": 504, "ERP_BAD_RESPONSE": 502, "ERP_PAGING_LOST": 502, "ERP_PAGING_LOOP": 502,
    "ERP_BUSINESS_ERROR": 502, "ERP_ERROR": 502, "ERP_NOT_SUPPORTED": 400, "SYNC_FAILED": 502,
    "DELETE_GUARD": 502, "TOO_MANY_ROW_ERRORS": 502, "LEASE_LOST": 409, "RUN_ABANDONED": 502,
    "ROW_MAPPING_FAILED": 502, "PUSH_REJECTED": 502, "ERP_RECORD_CHANGED": 502,
    "CONFIGURATION_ERROR": 500, "DECRYPTION_FAILED": 500, "DATABASE_ERROR": 503, "INTERNAL_ERROR": 500,
    "NOT_READY": 503,
}

_HTTP_CODES = {400: "MALFORMED_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
               405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}


def status_for(code: str) -> int:
    return STATUS.get(code, 500)


def register(app: Flask, database_unavailable: Callable[[BaseException], ErpSyncError | None]) -> None:
    """The handlers; `database_unavailable` recognises a database that cannot be reached or refuses work (the web
    layer knows no database library), which answers 503 DATABASE_ERROR instead of 500 INTERNAL_ERROR."""

    @app.errorhandler(ErpSyncError)
    def _expected(exc: ErpSyncError) -> Response:
        if exc.__cause__ is not None and database_unavailable(exc.__cause__) is not None:
            return _database_down(exc)  # e.g. the schedule's DATABASE_ERROR, which names the database
        status = status_for(exc.code)
        if status >= 500:
            log.warning("request failed: %s", exc, extra=_logged())
        return failure(exc.code, exc.message, status, field=exc.field, details=exc.details)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if isinstance(exc, IdOutOfRange):
            return _expected(exc.error)
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "INTERNAL_ERROR")
        messages = {
            404: "no such endpoint; see api/openapi.yaml for the routes",
            405: "this endpoint does not accept that method; the Allow header lists the ones it does",
            413: "the request body is too large",
        }
        response = failure(code, messages.get(status, exc.description or exc.name), status)
        for name, value in exc.get_headers():  # 405's Allow, for one
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        database = database_unavailable(exc)
        if database is not None:
            return _database_down(database)
        log.exception("unexpected error", extra=_logged())
        return failure("INTERNAL_ERROR", "an unexpected error occurred; the server log has the details "
                       "under this request id", 500)


def _database_down(failed: ErpSyncError) -> Response:
    """503 DATABASE_ERROR without the database's name or the driver's text, which go to the log only."""
    log.warning("request failed: %s", failed, extra=_logged())
    return failure(failed.code, "the database cannot be reached or refused the request; the server log has its "
                   "message under this request id. Check the database server and ERP_SYNC_DATABASE_URL, then "
                   "retry", status_for(failed.code))


def _logged() -> dict[str, str]:
    """The request id for a log line, so that an answer's `meta.requestId` finds it."""
    return {"request_id": getattr(g, "request_id", None) or "-"}
