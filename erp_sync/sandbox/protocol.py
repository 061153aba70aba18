"""The wire vocabulary of /s1services: error codes and texts, the error exception, and request normalization.

A `Request` wraps the decoded JSON body with every top-level key lower-cased, because SoftOne matches request keys
(and service names) case-insensitively. `ServiceError` is what a handler raises for an application error; the
app turns it into `{"success": false, "errorcode": ..., "error": ...}` with HTTP 200.
"""

from __future__ import annotations

from typing import Any

NOT_LOGGED_IN = -1
BAD_CREDENTIALS = -2
MODULE_NOT_ACTIVE = -3
BAD_APP_ID = -6
INVALID_REQUEST = -9
UNKNOWN_SERVICE = -12
SESSION_EXPIRED = -101
BUSINESS_ERROR = 0
REQID_EXPIRED = 13
REQID_NOT_FOUND = 102
NO_DATA = 2001

MESSAGES: dict[int, str] = {
    NOT_LOGGED_IN: "Invalid request. Please login first",
    BAD_CREDENTIALS: "Authenticate fails due to invalid credentials.",
    MODULE_NOT_ACTIVE: "Access denied. Selected module not activated!",
    BAD_APP_ID: "Invalid AppId. Ensure that your request includes a valid AppId",
    INVALID_REQUEST: "Invalid Request. Ensure that your request is valid",
    UNKNOWN_SERVICE: "Invalid Web Service call.",
    SESSION_EXPIRED: "Invalid Request, session has expired!",
    BUSINESS_ERROR: "Business error",
    REQID_EXPIRED: 'Invalid request, "reqID" expired.',
    REQID_NOT_FOUND: '"ReqId" not found on Server!',
    NO_DATA: "Invalid request, Data does not exist.",
}
LOGIN_FAILED_TEXT = "Login fails due to invalid login credentials."


class ServiceError(Exception):
    """An application error answered as HTTP 200 with success:false."""

    def __init__(self, errorcode: int, error: str | None = None, *, detail: str | None = None) -> None:
        text = error if error is not None else MESSAGES.get(errorcode, "Internal error")
        if detail:
            text = f"{text} ({detail})"
        super().__init__(text)
        self.errorcode = errorcode
        self.error = text

    def body(self) -> dict[str, Any]:
        """The JSON body SoftOne answers with."""
        return {"success": False, "errorcode": self.errorcode, "error": self.error}


def invalid(detail: str) -> ServiceError:
    """A -9 'invalid request' error with a sandbox-specific detail."""
    return ServiceError(INVALID_REQUEST, detail=detail)


def business(message: str) -> ServiceError:
    """A business-rule failure worded the way SoftOne object logic words it."""
    return ServiceError(BUSINESS_ERROR, f"S1:ESoftOneError: {message}")


def as_text(value: Any) -> str:
    """A loosely typed scalar as SoftOne compares it: numbers and strings alike, None as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class Request:
    """A decoded /s1services body with case-insensitive access to its top-level keys."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.raw = body
        self._keys = {str(k).lower(): v for k, v in body.items()}

    @property
    def service(self) -> str:
        return as_text(self._keys.get("service")).lower()

    def get(self, name: str, default: Any = None) -> Any:
        return self._keys.get(name.lower(), default)

    def has(self, name: str) -> bool:
        return name.lower() in self._keys

    def text(self, name: str, default: str = "") -> str:
        value = self._keys.get(name.lower())
        return default if value is None else as_text(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter sent as number or string; -9 if it is not one."""
        value = self._keys.get(name.lower())
        if value is None or value == "":
            return default
        try:
            return int(float(value)) if isinstance(value, (int, float)) else int(str(value).strip())
        except ValueError as exc:
            raise invalid(f"{name} must be a number") from exc

    def items(self) -> list[tuple[str, Any]]:
        """Every (lower-cased key, value) pair."""
        return list(self._keys.items())
