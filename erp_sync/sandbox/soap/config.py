"""SoapSandboxConfig: seed, sizes, company, credentials, and the switches of the NAV-style SOAP sandbox.

The fields in RUNTIME_FIELDS can be changed on a running sandbox (`POST /_sandbox/config`, `state.configure`):
`slow_seconds` delays every SOAP call, `failing` makes every SOAP call answer HTTP 503 (as an IIS front of a
stopped NAV service tier does), `legacy_encoding` answers in Windows-1253 declared in the XML prolog, `gzip`
compresses answers (Content-Encoding), `max_set_size` caps a ReadMultiple's setSize as NAV's MaxPageSize does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..config import check_runtime_changes


@dataclass
class SoapSandboxConfig:
    seed: int = 1
    customers: int = 1000
    items: int = 200
    company: str = "CRONUS"
    username: str = "demo"
    password: str = "demo"  # noqa: S105 - the sandbox's documented demo login, not a secret
    auth: str = "basic"  # "basic": HTTP basic on every request; "wsse": a UsernameToken in each SOAP header
    timezone: str = "UTC"  # of the server's dates (Last_Date_Modified)
    slow_seconds: float = 0.0
    failing: bool = False
    legacy_encoding: bool = False
    gzip: bool = False
    max_set_size: int = 5000
    now: Callable[[], datetime] | None = None
    admin_token: str | None = None

    def today(self) -> str:
        """The server's date, as NAV stamps Last_Date_Modified."""
        now = self.now() if self.now is not None else datetime.now(UTC)
        now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        return now.astimezone(ZoneInfo(self.timezone)).date().isoformat()


RUNTIME_FIELDS: dict[str, tuple[type, ...]] = {
    "slow_seconds": (int, float),
    "failing": (bool,),
    "legacy_encoding": (bool,),
    "gzip": (bool,),
    "max_set_size": (int,),
}


def updated(config: SoapSandboxConfig, changes: dict[str, Any]) -> SoapSandboxConfig:
    """A copy with runtime switches changed; ValueError names the first bad one."""
    check_runtime_changes(changes, RUNTIME_FIELDS)
    if changes.get("max_set_size", 1) < 1 or changes.get("slow_seconds", 0) < 0:
        raise ValueError("max_set_size must be at least 1 and slow_seconds not negative")
    return dataclasses.replace(config, **changes)


def public_view(config: SoapSandboxConfig) -> dict[str, Any]:
    hidden = {"password", "admin_token", "now"}
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name not in hidden}
