"""Fault switches of the SOAP sandbox, armed through `POST /_sandbox/faults` or `state.set_faults`.

Each switch counts the SOAP calls that match its filter (`operation`, `page`, both case-insensitive) from the
moment it is armed, fires on the n-th, keeps firing for `times` matching calls (default 1; 0 or null = until
cleared) and then disarms (the SoftOne sandbox's board does the counting):

    fault_on_call            {n?, times?, operation?, page?, kind?="business", message?}   a SOAP fault
    http_status_on_call      {n?, times?, operation?, page?, status?=503}                  an HTTP error page
    drop_connection_on_call  {n?, times?, operation?, page?}                               no answer at all
    slow_on_call             {n?, times?, operation?, page?, seconds?=2}                   sleep, then answer

`kind` is business, record_changed, not_found, permission or service (NAV's exception types, envelope.py).
A switch set to null or false is cleared; `{"clear": true}` clears everything first.
"""

from __future__ import annotations

from typing import Any

from .. import faults as softone_faults
from . import envelope

SWITCHES = ("fault_on_call", "http_status_on_call", "drop_connection_on_call", "slow_on_call")
KINDS = {"business": envelope.BUSINESS, "record_changed": envelope.RECORD_CHANGED,
         "not_found": envelope.NOT_FOUND, "permission": envelope.PERMISSION, "service": envelope.SERVICE}
DEFAULT_MESSAGE = "Η εγγραφή δεν μπορεί να αποθηκευτεί: Name must have a value in Customer: No.=C000001."


def _seconds(value: Any) -> float:
    seconds = float(value)
    if not 0 < seconds <= 600:
        raise ValueError("seconds must be above 0 and at most 600")
    return seconds


class FaultBoard(softone_faults.FaultBoard):
    """The armed switches; callers hold the sandbox lock. A switch is a Fault whose `service` is the operation
    and whose params hold the page it is limited to."""

    known = SWITCHES

    def parse(self, name: str, value: Any) -> softone_faults.Fault:
        spec = {str(k): v for k, v in (value if isinstance(value, dict) else {}).items()}
        times = spec.pop("times", 1)
        try:
            switch = softone_faults.Fault(name=name, n=int(spec.pop("n", 1)),
                                          times=None if times is None else (int(times) or None),
                                          service=(str(spec.pop("operation", "") or "").lower() or None))
            spec["page"] = str(spec.get("page") or "").lower() or None
            if name == "http_status_on_call":
                spec["status"] = int(spec.get("status", 503))
            if name == "slow_on_call":
                spec["seconds"] = _seconds(spec.get("seconds", 2))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: {value!r} is not a valid setting ({exc})") from exc
        if name == "fault_on_call":
            kind = str(spec.get("kind", "business"))
            if kind not in KINDS:
                raise ValueError(f"fault_on_call kind must be one of {', '.join(KINDS)}")
            spec["kind"], spec["message"] = kind, str(spec.get("message") or DEFAULT_MESSAGE)
        switch.params = spec
        return switch

    def on_soap_call(self, operation: str, page: str) -> dict[str, softone_faults.Fault]:
        """The switches that fire on this call of `operation` on `page`, by name."""
        fired: dict[str, softone_faults.Fault] = {}
        for name in SWITCHES:
            switch = self._faults.get(name)
            limited_to = switch.params.get("page") if switch is not None else None
            if switch is not None and limited_to in (None, page.lower()) and switch.hit(operation.lower(), None):
                fired[name] = switch
                self._spend(switch)
        return fired
