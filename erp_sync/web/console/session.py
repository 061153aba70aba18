"""The console's sign-in session: who is signed in, the CSRF token, the idle timeout, and the cookie's flags.

The admin token signs in; the session is Flask's signed cookie, keyed with `ERP_SYNC_SESSION_KEY` (so replicas
sharing the key share sessions), `HttpOnly`, `SameSite=Strict`, and `Secure` when the request came over HTTPS: the
request's own scheme, or `X-Forwarded-Proto` when (and only when) the request comes from an address listed in
`TRUSTED_PROXIES`. The session holds a fingerprint of the admin token, so rotating the token signs everyone out.
Every request that changes something carries the session's CSRF token: the `csrf_token` form field, or the
`X-CSRF-Token` header for the console's own API calls.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from erp_sync.errors import ErpSyncError

COOKIE_NAME = "erp_sync_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
IDLE_TIMEOUT = timedelta(minutes=30)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, `Secure` decided per request rather than once per app."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request_is_https()


def request_is_https() -> bool:
    """True when the browser spoke HTTPS: directly, or to a proxy in TRUSTED_PROXIES that says so."""
    if request.scheme == "https":
        return True
    trusted = _settings().trusted_proxies
    try:
        remote = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    if not any(remote in network for network in trusted):
        return False
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return forwarded == "https"


def _settings() -> Any:
    return current_app.extensions["erp_sync"].settings


def _now() -> float:
    return float(current_app.extensions["erp_sync"].clock.now().timestamp())


def _fingerprint(token: str) -> str:
    return hashlib.sha256(b"erp-sync-console:" + token.encode("utf-8")).hexdigest()[:32]


def token_is_right(given: str) -> bool:
    expected = _settings().api_token
    return hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8"))


def sign_in() -> None:
    """Start a signed-in session (the caller checked the token); a fresh CSRF token replaces the anonymous one."""
    session.clear()
    session["who"] = _fingerprint(_settings().api_token)
    session["seen"] = _now()
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


def sign_out() -> None:
    session.clear()


def signed_in() -> bool:
    """Whether this request carries a live session; an idle or outdated one is cleared (and `timed_out` says so)."""
    who = session.get("who")
    if not who:
        return False
    if not hmac.compare_digest(str(who), _fingerprint(_settings().api_token)):
        session.clear()
        return False
    now = _now()
    if now - float(session.get("seen", 0)) > IDLE_TIMEOUT.total_seconds():
        session.clear()
        session["timed_out"] = True
        return False
    session["seen"] = now
    return True


def timed_out() -> bool:
    """Whether the last session ended by the idle timeout (said once, then forgotten)."""
    return bool(session.pop("timed_out", False))


def csrf_token() -> str:
    """This session's CSRF token, made on first use (the sign-in form has one too)."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def require_csrf() -> None:
    """Refuse a changing request whose CSRF token is missing or is not this session's."""
    if request.method in SAFE_METHODS:
        return
    given = request.form.get(CSRF_FIELD) if request.form else None
    given = given or request.headers.get(CSRF_HEADER)
    expected = session.get(CSRF_FIELD)
    if not given or not expected or not hmac.compare_digest(str(given), str(expected)):
        raise ErpSyncError("this request carries no valid CSRF token (the csrf_token form field or the "
                           "X-CSRF-Token header); reload the page and try again", code="FORBIDDEN",
                           field=CSRF_FIELD)


def admits_api_call() -> bool:
    """For the JSON API: a request with no credentials of its own is let in by a live console session, and a
    changing one only with the session's CSRF token (else FORBIDDEN)."""
    if request.headers.get("Authorization") or request.headers.get("X-Cron-Secret"):
        return False
    if not request.cookies.get(COOKIE_NAME) or not signed_in():
        return False
    require_csrf()
    return True


def configure(app: Flask, session_key: str) -> None:
    app.secret_key = session_key
    app.session_interface = ConsoleSessionInterface()
    app.config.update(SESSION_COOKIE_NAME=COOKIE_NAME, SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SAMESITE="Strict", SESSION_COOKIE_PATH="/")
