"""The error vocabulary.

Every expected failure is an `ErpSyncError` carrying a stable SCREAMING_SNAKE `code`, a message a person can act
on, and where it helps the `field` (a dotted path into the request) and `details`. Which HTTP status a code gets is
decided in one place, `erp_sync.web.errors`; `api/errors.md` documents every code listed here.
"""

from __future__ import annotations

from typing import Any


class ErpSyncError(Exception):
    """An expected failure with a stable code."""

    code: str = "INTERNAL_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.field = field
        self.details = details or {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationError(ErpSyncError):
    code = "VALIDATION_ERROR"


class NotFoundError(ErpSyncError):
    code = "NOT_FOUND"


class ConflictError(ErpSyncError):
    code = "CONFLICT"


class ConfigurationError(ErpSyncError):
    code = "CONFIGURATION_ERROR"


# Every code the package can raise. A test checks that each one is documented in api/errors.md and mapped in
# erp_sync.web.errors, and that no code is raised that is missing from here.
CODES: frozenset[str] = frozenset(
    {
        # request and validation
        "VALIDATION_ERROR",
        "UNKNOWN_OBJECT",
        "MALFORMED_JSON",
        "MALFORMED_REQUEST",
        "UNSUPPORTED_MEDIA_TYPE",
        "PAYLOAD_TOO_LARGE",
        "METHOD_NOT_ALLOWED",
        "NOT_FOUND",
        "UNAUTHORIZED",
        "FORBIDDEN",
        "INVALID_CRON",
        "UNKNOWN_TIMEZONE",
        "UNKNOWN_TABLE",
        "UNKNOWN_SCHEMA",
        "FORBIDDEN_TARGET",
        "UNKNOWN_COLUMN",
        "INVALID_MAPPING",
        "DUPLICATE_NAME",
        "UNIQUE_KEY_MISSING",
        "CONFLICT",
        "INTEGRATION_INACTIVE",
        # runs
        "SYNC_IN_PROGRESS",
        "SYNC_FAILED",
        "NO_SYNC_JOB",
        "DELETE_GUARD",
        "TOO_MANY_ROW_ERRORS",
        "LEASE_LOST",
        "RUN_ABANDONED",
        "ROW_MAPPING_FAILED",
        "PUSH_REJECTED",
        # ERP side
        "ERP_BAD_CREDENTIALS",
        "ERP_ACCOUNT_PROBLEM",
        "ERP_SESSION_EXPIRED",
        "ERP_UNAVAILABLE",
        "ERP_TIMEOUT",
        "ERP_BAD_RESPONSE",
        "ERP_PAGING_LOST",
        "ERP_PAGING_LOOP",
        "ERP_BUSINESS_ERROR",
        "ERP_RECORD_CHANGED",
        "ERP_ERROR",
        "ERP_NOT_SUPPORTED",
        # service
        "CONFIGURATION_ERROR",
        "DECRYPTION_FAILED",
        "DATABASE_ERROR",
        "NOT_READY",
        "INTERNAL_ERROR",
    }
)
