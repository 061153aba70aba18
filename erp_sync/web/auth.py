"""Who may call what: the admin bearer token and the cron secret, both compared in constant time.

Admin endpoints take `Authorization: Bearer <ERP_SYNC_API_TOKEN>`, or (the console's own calls) no credentials
but a signed-in console session, whose CSRF token a changing request must carry (`X-CSRF-Token`). Cron endpoints
take `X-Cron-Secret: <CRON_SECRET>` or `Authorization: Bearer <CRON_SECRET>`. The cron secret on an admin
endpoint is a 403, not a 401: the caller is known, just not allowed.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request

from erp_sync.errors import ErpSyncError
from erp_sync.web.console import session as console_session
from erp_sync.web.cron_access import cron_secrets, require_allowed_address

F = TypeVar("F", bound=Callable[..., Any])


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _secrets() -> tuple[str, str]:
    settings = current_app.extensions["erp_sync"].settings
    return settings.api_token, settings.cron_secret


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        api_token, cron_secret = _secrets()
        token = _bearer()
        if _same(token, api_token) or console_session.admits_api_call():
            return view(*args, **kwargs)
        if _same(token, cron_secret) or _same(request.headers.get("X-Cron-Secret"), cron_secret):
            raise ErpSyncError("the cron secret only opens the /api/cron and /api/sync endpoints; use the admin "
                               "token (ERP_SYNC_API_TOKEN) here", code="FORBIDDEN")
        raise ErpSyncError("send Authorization: Bearer <ERP_SYNC_API_TOKEN>", code="UNAUTHORIZED")

    return wrapper  # type: ignore[return-value]


def cron_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require_allowed_address()
        given = (request.headers.get("X-Cron-Secret"), _bearer())
        if any(_same(value, secret) for value in given for secret in cron_secrets()):
            return view(*args, **kwargs)
        raise ErpSyncError("send X-Cron-Secret: <CRON_SECRET> (or Authorization: Bearer <CRON_SECRET>)",
                           code="UNAUTHORIZED")

    return wrapper  # type: ignore[return-value]
