"""How to reach one SoftOne installation: URL, web account, environment, clock zone and transport limits.

`SoftOneConfig` is immutable and never shows the password in its repr. `session_key` is what `SessionPool` shares
sessions by: two connectors whose configs have the same key use one ERP login.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from erp_sync.errors import ConfigurationError


@dataclass(frozen=True)
class SoftOneConfig:
    """Connection settings of one SoftOne web account.

    Leave company, branch, module and ref_id empty to log in in two steps and pick the offered environment
    (the one matching whatever of them is set, else the first); set all four for a one-step login.
    """

    base_url: str
    username: str
    password: str = field(repr=False)
    app_id: str
    company: str = ""
    branch: str = ""
    module: str = ""
    ref_id: str = ""
    server_timezone: str = "Europe/Athens"
    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 5.0
    max_retries: int = 3
    window_overlap: timedelta = timedelta(minutes=5)
    retry_backoff_seconds: float = 0.5
    retry_backoff_max_seconds: float = 8.0

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigurationError("base_url must be an http(s) URL ending in /s1services", field="base_url")
        for name in ("username", "app_id"):
            if not str(getattr(self, name)).strip():
                raise ConfigurationError(f"{name} is required", field=name)
        try:
            ZoneInfo(self.server_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(f"unknown time zone {self.server_timezone!r}",
                                     field="server_timezone") from exc
        if self.timeout_seconds <= 0 or self.connect_timeout_seconds <= 0:
            raise ConfigurationError("timeouts must be positive", field="timeout_seconds")
        if self.max_retries < 0:
            raise ConfigurationError("max_retries cannot be negative", field="max_retries")
        if self.window_overlap < timedelta(0):
            raise ConfigurationError("window_overlap cannot be negative", field="window_overlap")
        if self.retry_backoff_seconds < 0 or self.retry_backoff_max_seconds < 0:
            raise ConfigurationError("retry backoff cannot be negative", field="retry_backoff_seconds")

    @property
    def one_step_login(self) -> bool:
        """True when the whole environment is configured, so `login` alone yields the final clientID."""
        return all(str(v).strip() for v in (self.company, self.branch, self.module, self.ref_id))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.server_timezone)

    @property
    def session_key(self) -> tuple[str, ...]:
        """Identity of the ERP session these settings open; the password enters only as a digest."""
        digest = hashlib.sha256(self.password.encode("utf-8")).hexdigest()
        return (self.base_url.rstrip("/?"), self.username, str(self.app_id), str(self.company),
                str(self.branch), str(self.module), str(self.ref_id), digest)
