"""The ERP session: who is logged in, with which clientID, shared by every thread that uses one web account.

`SoftOneSession` logs in lazily and at most once at a time (single flight: concurrent callers wait for the one
login in progress and share its outcome, success or failure). It logs in in one step when company, branch, module
and refid are all configured, else in two (login, pick an environment from `objs`, authenticate). `request` adds
clientID and appId; when SoftOne answers with a session error it drops that clientID, logs in again and retries
the call once. A failed login is never retried. `SessionPool` hands out one session per `SoftOneConfig.session_key`;
the application builds one pool and passes it to every connector it creates.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from erp_sync.connectors.base import (
    AccountProblemError,
    BadResponseError,
    ConnectorError,
    url_without_secrets,
)
from erp_sync.connectors.softone.client import SoftOneClient
from erp_sync.connectors.softone.codes import SessionExpiredError
from erp_sync.connectors.softone.config import SoftOneConfig

log = logging.getLogger(__name__)

_ENVIRONMENT = (("COMPANY", "company"), ("BRANCH", "branch"), ("MODULE", "module"), ("REFID", "ref_id"))


class SoftOneSession:
    """One logged-in web account; thread-safe."""

    def __init__(self, client: SoftOneClient) -> None:
        self._client = client
        self._config = client.config
        self._lock = threading.Lock()
        self._client_id: str | None = None
        self._flights = 0  # logins finished, so waiters can tell that one ended while they queued
        self._last_failure: ConnectorError | None = None
        self.login_count = 0
        self.server_version: str | None = None
        self.company_name: str | None = None

    @property
    def client(self) -> SoftOneClient:
        return self._client

    @property
    def logged_in(self) -> bool:
        return self._client_id is not None

    def call(self, service: str, **params: Any) -> dict[str, Any]:
        """Call a service as the logged-in account, logging in first if needed."""
        return self.request(service, params)

    def request(self, service: str, params: Mapping[str, Any], *, page: int | None = None,
                retry: bool = True) -> dict[str, Any]:
        """Like `call`; `page` is named in errors, `retry=False` sends the request at most once per clientID."""
        client_id = self._acquire(stale=None)
        try:
            return self._send(service, params, client_id, page, retry)
        except SessionExpiredError as first:
            log.info("SoftOne session rejected by %s (code %s); logging in again", service, first.erp_code)
            client_id = self._acquire(stale=client_id)
            try:
                return self._send(service, params, client_id, page, retry)
            except SessionExpiredError as second:
                raise SessionExpiredError(
                    f"SoftOne {service} rejected a fresh session too ({second.erp_code}): {second.message}",
                    page=page, erp_code=second.erp_code, details={"service": service}) from second

    def invalidate(self) -> None:
        """Forget the clientID; the next call logs in again."""
        with self._lock:
            self._client_id = None

    def close(self) -> None:
        self.invalidate()
        self._client.close()

    def _send(self, service: str, params: Mapping[str, Any], client_id: str, page: int | None,
              retry: bool) -> dict[str, Any]:
        body = {"clientID": client_id, "appId": self._config.app_id, **params}
        return self._client.request(service, body, page=page, retry=retry)

    def _acquire(self, stale: str | None) -> str:
        flights_seen = self._flights
        with self._lock:
            if self._client_id is not None and self._client_id != stale:
                return self._client_id
            if self._flights != flights_seen and self._last_failure is not None:
                raise copy.copy(self._last_failure)
            self._client_id = None
            try:
                client_id = self._login()
            except ConnectorError as exc:
                self._last_failure = exc
                raise
            finally:
                self._flights += 1
            self._client_id, self._last_failure = client_id, None
            return client_id

    def _login(self) -> str:
        cfg = self._config
        self.login_count += 1
        started = time.monotonic()
        params: dict[str, Any] = {"username": cfg.username, "password": cfg.password, "appId": cfg.app_id}
        if cfg.one_step_login:
            params.update({key: getattr(cfg, attr) for key, attr in _ENVIRONMENT})
        answer = self._client.request("login", params)
        self.server_version = _text(answer.get("ver")) or self.server_version
        if cfg.one_step_login:
            client_id = _client_id(answer, "login")
            self.company_name = _company_name(answer) or str(cfg.company)
        else:
            chosen = self._choose_environment(answer.get("objs"))
            final = self._client.request("authenticate", {
                "clientID": _client_id(answer, "login"), **{key: chosen[key] for key, _ in _ENVIRONMENT}})
            client_id = _client_id(final, "authenticate")
            self.company_name = _company_name(final) or chosen.get("COMPANYNAME") or chosen["COMPANY"]
        log.info("SoftOne login as %s on %s (%s) in %.0f ms", cfg.username, url_without_secrets(cfg.base_url),
                 "one step" if cfg.one_step_login else "two steps", (time.monotonic() - started) * 1000)
        return client_id

    def _choose_environment(self, objs: Any) -> dict[str, str]:
        if not isinstance(objs, list) or not objs or not all(isinstance(o, dict) for o in objs):
            raise BadResponseError("SoftOne login offered no company/branch to authenticate against",
                                   details={"service": "login"})
        wanted = {key: str(getattr(self._config, attr)).strip() for key, attr in _ENVIRONMENT}
        wanted = {key: value for key, value in wanted.items() if value}
        for entry in objs:
            if all(_text(entry.get(key)) == value for key, value in wanted.items()):
                return {key: _text(entry.get(key)) for key, _ in _ENVIRONMENT} | {
                    "COMPANYNAME": _text(entry.get("COMPANYNAME"))}
        offered = ", ".join(f"{_text(o.get('COMPANY'))}/{_text(o.get('BRANCH'))}" for o in objs)
        raise AccountProblemError(f"SoftOne web account offers no environment matching {wanted} "
                                  f"(offered company/branch: {offered})", details={"service": "login"})


class SessionPool:
    """Sessions shared by connection identity. Build one per application and close it on shutdown."""

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._sleep = sleep
        self._transport = transport
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, ...], SoftOneSession] = {}

    def session(self, config: SoftOneConfig) -> SoftOneSession:
        """The session for this connection; the first config seen for a key sets timeouts and retries."""
        with self._lock:
            found = self._sessions.get(config.session_key)
            if found is None:
                client = SoftOneClient(config, sleep=self._sleep, transport=self._transport)
                found = self._sessions[config.session_key] = SoftOneSession(client)
            return found

    def __len__(self) -> int:
        return len(self._sessions)

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _client_id(answer: Mapping[str, Any], service: str) -> str:
    value = answer.get("clientID") or answer.get("clientid") or answer.get("clientId")
    if not isinstance(value, str) or not value:
        raise BadResponseError(f"SoftOne {service} succeeded without a clientID", details={"service": service})
    return value


def _company_name(answer: Mapping[str, Any]) -> str | None:
    info = _text(answer.get("companyinfo"))
    return info.split("|")[0].strip() or None if info else None
