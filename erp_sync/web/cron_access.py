"""Who may reach the cron endpoints: an optional address allow-list, and the cron secrets accepted.

`CRON_ALLOWED_IPS` (networks) limits `/api/cron/...` and `/api/sync` to callers from those addresses; others get
403 FORBIDDEN whatever they send. The caller's address is the connection's, or, only when the connection comes
from one of `TRUSTED_PROXIES`, the nearest address in `X-Forwarded-For` that is not a trusted proxy itself: a
header from anyone else is ignored, since any client can write it. During a rotation `CRON_SECRET_PREVIOUS` is
accepted beside `CRON_SECRET`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from flask import current_app, request

from erp_sync.errors import ErpSyncError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _settings() -> Any:
    return current_app.extensions["erp_sync"].settings


def _address(text: str | None) -> Address | None:
    try:
        return ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None


def _within(address: Address | None, networks: tuple[Any, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_address() -> Address | None:
    """The caller's address, through trusted proxies only (None when it cannot be read)."""
    settings = _settings()
    address = _address(request.remote_addr)
    if not _within(address, settings.trusted_proxies):
        return address
    hops = [hop for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if not _within(address, settings.trusted_proxies):
            return address
    return address


def require_allowed_address() -> None:
    """Raise FORBIDDEN when CRON_ALLOWED_IPS is set and the caller is not within it."""
    allowed = _settings().operations.cron_allowed_ips
    if not allowed:
        return
    address = client_address()
    if not _within(address, allowed):
        raise ErpSyncError(f"the cron endpoints only answer callers from CRON_ALLOWED_IPS; this request came from "
                           f"{address or 'an unreadable address'}. Call from an allowed host, or add its address "
                           "to CRON_ALLOWED_IPS (behind a proxy, list the proxy in TRUSTED_PROXIES)", code="FORBIDDEN")


def cron_secrets() -> list[str]:
    """The cron secrets accepted now: CRON_SECRET and, during a rotation, CRON_SECRET_PREVIOUS."""
    settings = _settings()
    return [secret for secret in (settings.cron_secret, settings.operations.cron_secret_previous) if secret]
