"""Fault switches: one-shot or counted failures a test arms through `POST /_sandbox/faults` or `state.set_faults`.

Call faults count the /s1services calls that match their filter from the moment they are armed, fire on the
n-th, keep firing for `times` matching calls in a row (default 1; null or 0 = until cleared) and then disarm, so
a client's retry succeeds. Shapes (a bare number is shorthand for the first key):

    drop_connection_on_call  n | {n, service?, start?, times?}   close the socket without an answer
    http_500_on_call         n | {n, service?, start?, times?}   HTTP 500 with an IIS-style HTML body
    html_error_on_call       n | {n, service?, start?, times?, status?=502}   proxy HTML error page
    fail_on_call             {n, errorcode?=-101, error?, service?, start?, times?}   success:false body
    slow_page_seconds        s | {seconds, n?, service?="getBrowserData", start?, times?}   sleep, then answer
    truncated_gzip_on_call   n | {n, service?, start?, times?}   the answer gzipped, sent with Content-Encoding: gzip
                             and cut off halfway through the compressed stream (a connection that died mid-body)
    short_row_on_page        n | {n, start?, times?}   getBrowserData: first row of the page lacks its last value
    setdata_business_error   true | "message" | {error?, errorcode?=0, object?, keys?, match?, times?}
        setData answers success:false with an `S1:ESoftOneError:` message; `keys` limits it to those KEY values
        ("" = inserts), `match` to master rows whose given fields equal those values. With keys or match it
        stays armed until cleared; otherwise it fires once.

`service` matches a service name case-insensitively; `start` matches the START of the call. A switch set to null
or false is cleared; `{"clear": true}` clears everything first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .protocol import MESSAGES, SESSION_EXPIRED, ServiceError

CALL_FAULTS = ("drop_connection_on_call", "http_500_on_call", "html_error_on_call", "fail_on_call", "slow_page_seconds",
               "truncated_gzip_on_call")
ALL_FAULTS = (*CALL_FAULTS, "short_row_on_page", "setdata_business_error")
DEFAULT_BUSINESS_ERROR = "S1:ESoftOneError: Δεν επιτρέπεται η καταχώρηση. Ελέγξτε τα στοιχεία της εγγραφής."
_SHORTHAND = {"slow_page_seconds": "seconds", "setdata_business_error": "error"}


@dataclass
class Fault:
    """One armed switch with its trigger state."""

    name: str
    n: int = 1
    service: str | None = None
    start: int | None = None
    times: int | None = 1
    params: dict[str, Any] = field(default_factory=dict)
    seen: int = 0
    fired: int = 0

    def hit(self, service: str, start: int | None) -> bool:
        """Count a call; True if the fault fires on it."""
        if (self.service and self.service != service) or (self.start is not None and self.start != start):
            return False
        self.seen += 1
        if self.seen < self.n:
            return False
        self.fired += 1
        return True

    @property
    def spent(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def describe(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "service": self.service,
            "start": self.start,
            "times": self.times,
            "seen": self.seen,
            "fired": self.fired,
            **self.params,
        }


def _parse(name: str, value: Any) -> Fault:
    if name not in ALL_FAULTS:
        raise ValueError(f"unknown fault {name!r}; known: {', '.join(ALL_FAULTS)}")
    if not isinstance(value, dict):
        value = {_SHORTHAND.get(name, "n"): value} if value is not True else {}
    spec = {str(k).lower(): v for k, v in value.items()}
    default_service = "getbrowserdata" if name in ("slow_page_seconds", "short_row_on_page") else None
    if name == "setdata_business_error":
        default_service = "setdata"
    default_times = None if name == "setdata_business_error" and ("keys" in spec or "match" in spec) else 1
    times = spec.pop("times", default_times)
    try:
        fault = Fault(
            name=name,
            n=int(spec.pop("n", 1)),
            times=None if times is None else (int(times) or None),
            service=str(spec.pop("service", default_service) or "").lower() or None,
            start=None if spec.get("start") is None else int(spec["start"]),
        )
        spec.pop("start", None)
        _fill_params(name, spec)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: {value!r} is not a valid setting ({exc})") from exc
    fault.params = spec
    return fault


def _fill_params(name: str, spec: dict[str, Any]) -> None:
    """Check and default the switch-specific settings in place."""
    if name == "slow_page_seconds":
        spec["seconds"] = float(spec.get("seconds", 1.0))
    if name == "fail_on_call":
        spec["errorcode"] = int(spec.get("errorcode", SESSION_EXPIRED))
        spec["error"] = str(spec.get("error") or MESSAGES.get(spec["errorcode"], "Internal error"))
    if name == "html_error_on_call":
        spec["status"] = int(spec.get("status", 502))
    if name == "setdata_business_error":
        spec["errorcode"] = int(spec.get("errorcode", 0))
        text = str(spec.get("error") or DEFAULT_BUSINESS_ERROR)
        spec["error"] = text if text.startswith("S1:") else f"S1:ESoftOneError: {text}"
        if not isinstance(spec.get("match", {}), dict) or not isinstance(spec.get("keys", []), list):
            raise ValueError("match must be an object and keys a list")


class FaultBoard:
    """The armed faults of one sandbox; callers hold the sandbox lock. Another sandbox's board overrides
    `known` and `parse` (the SOAP sandbox's does)."""

    known: tuple[str, ...] = ALL_FAULTS

    def __init__(self) -> None:
        self._faults: dict[str, Fault] = {}
        self.fired: dict[str, int] = {}

    def configure(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Arm or clear switches; ValueError on a bad shape (nothing changes then)."""
        parsed: dict[str, Fault | None] = {}
        for name, value in payload.items():
            if name == "clear":
                continue
            if name not in self.known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(self.known)}")
            parsed[name] = None if value is None or value is False else self.parse(name, value)
        if payload.get("clear"):
            self._faults.clear()
        for name, fault in parsed.items():
            if fault is None:
                self._faults.pop(name, None)
            else:
                self._faults[name] = fault
        return self.pending()

    def pending(self) -> dict[str, Any]:
        return {name: fault.describe() for name, fault in self._faults.items()}

    def parse(self, name: str, value: Any) -> Fault:
        """One switch's setting as an armed Fault; ValueError on a bad shape."""
        return _parse(name, value)

    def on_call(self, service: str, start: int | None) -> dict[str, Fault]:
        """The call faults that fire on this call, by name (each armed fault counts it)."""
        fired = {}
        for name in CALL_FAULTS:
            fault = self._faults.get(name)
            if fault is not None and fault.hit(service, start):
                fired[name] = fault
                self._spend(fault)
        return fired

    def short_row(self, start: int) -> bool:
        fault = self._faults.get("short_row_on_page")
        if fault is None or not fault.hit("getbrowserdata", start):
            return False
        self._spend(fault)
        return True

    def setdata_error(self, object_name: str, key: str, master: dict[str, str]) -> ServiceError | None:
        """The armed business error for this setData, if it applies."""
        fault = self._faults.get("setdata_business_error")
        if fault is None:
            return None
        params = fault.params
        if params.get("object") and str(params["object"]).upper() != object_name:
            return None
        if "keys" in params and key not in {str(k) for k in params["keys"]}:
            return None
        match = params.get("match") or {}
        if any(master.get(str(f).upper(), "").casefold() != str(v).casefold() for f, v in match.items()):
            return None
        if not fault.hit("setdata", None):
            return None
        self._spend(fault)
        return ServiceError(int(params["errorcode"]), str(params["error"]))

    def _spend(self, fault: Fault) -> None:
        self.fired[fault.name] = self.fired.get(fault.name, 0) + 1
        if fault.spent:
            self._faults.pop(fault.name, None)
