"""Client sessions: temporary and final clientIDs, their appId, idle and call-count expiry.

A clientID is a long base64-like token with '+' written as '%2b' (every token carries at least one), and must come
back verbatim. Unknown tokens answer -1; tokens that expired (idle timeout, call budget, or an admin 'expire all')
answer -101; a known token sent with a different appId answers -6. A temporary token (from a two-step login) is
only good for one authenticate call. Expired tokens are remembered so they keep answering -101, up to a bound.
With `max_sessions` set, login and authenticate answer -5 (web service licences exceeded) while that many final
sessions are live: a session only frees its licence when it expires (idle, call budget or an admin 'expire all').
"""

from __future__ import annotations

import base64
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from .config import SandboxConfig
from .protocol import BAD_APP_ID, NOT_LOGGED_IN, SESSION_EXPIRED, ServiceError

_REMEMBERED_EXPIRED = 10000
LICENCES_EXCEEDED = -5
LICENCES_EXCEEDED_TEXT = "Web Services Licenses Exceeded!"
LOGIN_SERVICES = ("login", "authenticate")


@dataclass
class Session:
    client_id: str
    app_id: str
    final: bool
    last_used: float
    calls: int = 0
    expired: bool = False


def new_client_id() -> str:
    """A fresh token: 72 base64 characters, '+' URL-escaped as '%2b', always at least one '%2b'."""
    while True:
        token = base64.b64encode(secrets.token_bytes(54)).decode("ascii")
        if "+" in token:
            return token.replace("+", "%2b")


class SessionTable:
    """Every clientID the sandbox has handed out."""

    def __init__(self) -> None:
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def open(self, app_id: str, *, final: bool, now: float) -> Session:
        session = Session(new_client_id(), app_id, final, now)
        self._sessions[session.client_id] = session
        self._forget_old()
        return session

    def use(self, client_id: str, app_id: str, config: SandboxConfig, *, temporary: bool = False) -> Session:
        """The live session for `client_id`, counted as used now; ServiceError -1, -101 or -6 otherwise."""
        session = self._sessions.get(client_id)
        if session is None or session.final == temporary:
            raise ServiceError(NOT_LOGGED_IN)
        now = config.timestamp()
        if self._is_expired(session, config, now):
            session.expired = True
            raise ServiceError(SESSION_EXPIRED)
        if app_id and app_id != session.app_id:
            raise ServiceError(BAD_APP_ID)
        session.calls += 1
        session.last_used = now
        if temporary:
            del self._sessions[client_id]
        return session

    def expire_all(self) -> int:
        """Expire every session now; returns how many were live."""
        live = [s for s in self._sessions.values() if not s.expired]
        for session in live:
            session.expired = True
        return len(live)

    def check_licences(self, service: str, config: SandboxConfig) -> None:
        """ServiceError -5 for a login or authenticate while every licensed session is taken."""
        limit = config.max_sessions
        if service in LOGIN_SERVICES and limit is not None and self.active_count(config) >= limit:
            raise ServiceError(LICENCES_EXCEEDED, LICENCES_EXCEEDED_TEXT)

    def active_count(self, config: SandboxConfig) -> int:
        now = config.timestamp()
        return sum(1 for s in self._sessions.values() if s.final and not self._is_expired(s, config, now))

    @staticmethod
    def _is_expired(session: Session, config: SandboxConfig, now: float) -> bool:
        if session.expired:
            return True
        idle = config.session_idle_seconds
        if idle is not None and now - session.last_used > idle:
            return True
        limit = config.session_max_calls
        return session.final and limit is not None and session.calls >= limit

    def _forget_old(self) -> None:
        """Drop the oldest tokens once far more exist than any test or demo needs."""
        while len(self._sessions) > _REMEMBERED_EXPIRED:
            self._sessions.popitem(last=False)
