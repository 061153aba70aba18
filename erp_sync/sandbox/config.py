"""SandboxConfig: the seed, data sizes, credentials, quirk switches and clock of one sandbox.

Every quirk is on by default, so code tested against the sandbox meets what a real SoftOne server sends. The
fields in RUNTIME_FIELDS can be changed on a running sandbox (`POST /_sandbox/config`, `state.configure`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

ATHENS = ZoneInfo("Europe/Athens")


@dataclass
class SandboxConfig:
    """How one sandbox behaves; see the module docstring of each switch's owner for details."""

    seed: int = 1
    customers: int = 1000
    items: int = 200
    username: str = "demo"
    password: str = "demo"  # noqa: S105 - the sandbox's documented demo login, not a secret
    app_id: str = "1001"
    company: str = "1000"
    branch: str = "1000"
    module: str = "0"
    refid: str = "1"
    # Encoding quirks (encoding.py).
    cp1253_bodies: bool = True
    gzip_some: bool = True
    gzip_every: int = 3
    raw_tabs: bool = True
    # Session lifetime (sessions.py): idle timeout and calls per session, None = unlimited.
    session_idle_seconds: float | None = 1200
    session_max_calls: int | None = None
    # Licensed web sessions (sessions.py): a login past this many live final sessions answers -5. None = unlimited.
    max_sessions: int | None = None
    # Browser handles (browser.py): getBrowserData calls per reqID, idle lifetime, live handles kept.
    reqid_max_calls: int | None = 50
    reqid_ttl_seconds: float | None = 600
    max_browsers: int = 64
    # The sandbox's clock; aware datetimes in any zone, naive ones are read as UTC. None = wall clock.
    now: Callable[[], datetime] | None = None
    # When set, /_sandbox/ requests must carry it in an X-Sandbox-Token header.
    admin_token: str | None = None

    def current_time(self) -> datetime:
        """The sandbox's now, timezone-aware."""
        now = self.now() if self.now is not None else datetime.now(UTC)
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    def local_now_text(self) -> str:
        """The sandbox's now as SoftOne writes UPDDATE: Athens local time, 'YYYY-MM-DD HH:MM:SS'."""
        return self.current_time().astimezone(ATHENS).strftime("%Y-%m-%d %H:%M:%S")

    def timestamp(self) -> float:
        """The sandbox's now in seconds, for lifetimes."""
        return self.current_time().timestamp()


RUNTIME_FIELDS: dict[str, tuple[type, ...]] = {
    "cp1253_bodies": (bool,),
    "gzip_some": (bool,),
    "gzip_every": (int,),
    "raw_tabs": (bool,),
    "session_idle_seconds": (int, float, type(None)),
    "session_max_calls": (int, type(None)),
    "max_sessions": (int, type(None)),
    "reqid_max_calls": (int, type(None)),
    "reqid_ttl_seconds": (int, float, type(None)),
    "max_browsers": (int,),
}


def check_runtime_changes(changes: dict[str, Any], fields: dict[str, tuple[type, ...]]) -> None:
    """ValueError naming the first change that is not one of `fields` or has the wrong type."""
    for name, value in changes.items():
        kinds = fields.get(name)
        if kinds is None:
            raise ValueError(f"{name} cannot be changed at run time; allowed: {', '.join(fields)}")
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise ValueError(f"{name} has the wrong type: {type(value).__name__}")


def updated(config: SandboxConfig, changes: dict[str, Any]) -> SandboxConfig:
    """A copy of `config` with runtime switches changed; ValueError names the first bad one."""
    check_runtime_changes(changes, RUNTIME_FIELDS)
    if changes.get("gzip_every", 1) < 1:
        raise ValueError("gzip_every must be at least 1")
    return dataclasses.replace(config, **changes)


def public_view(config: SandboxConfig) -> dict[str, Any]:
    """The config as JSON for the admin surface, without the password, token or clock."""
    hidden = {"password", "admin_token", "now"}
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.name not in hidden}
