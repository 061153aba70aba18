"""One HTTP exchange with `/s1services`: encode the request, survive the transport, decode what comes back.

`SoftOneClient` knows nothing of sessions. It sends ASCII-only JSON, retries transport trouble (timeouts, dropped
connections, HTTP 5xx, bodies that are not JSON at all such as proxy pages) with bounded exponential backoff and
jitter, decodes bodies as docs/softone.md#encoding says (a declared gzip, then gzip by magic bytes, declared charset,
else UTF-8, else cp1253; raw control characters tolerated) and turns `success:false` into the typed errors of
`codes`. It inflates compressed bodies itself rather than letting httpx do it, because httpx inflates what there is
of a stream cut off mid-body without complaint: a gzip stream that stops before its end is a transport failure,
retried like a dropped connection.
Nothing here logs a password, a clientID or the body of login/authenticate.
"""

from __future__ import annotations

import codecs
import json
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from erp_sync.connectors.base import (
    BadResponseError,
    ConnectorError,
    ErpTimeoutError,
    RetriableConnectorError,
    redact,
    split_user_info,
    url_without_secrets,
)
from erp_sync.connectors.softone.codes import LOGIN_SERVICES, error_for, is_failure
from erp_sync.connectors.softone.config import SoftOneConfig

log = logging.getLogger(__name__)

_GZIP_MAGIC = b"\x1f\x8b"
_RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_INFLATED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate"})  # what a server may send for Accept-Encoding: gzip
_GZIP_OR_ZLIB = zlib.MAX_WBITS | 32  # zlib reads the header to tell gzip from zlib-wrapped deflate


class TruncatedStreamError(ValueError):
    """A compressed body whose stream stops before its end: the answer was cut off on its way."""


class _TransportFailure(Exception):
    """Carries the public error of one failed attempt through tenacity."""

    def __init__(self, error: RetriableConnectorError) -> None:
        super().__init__(error.message)
        self.error = error


def inflate(content: bytes) -> bytes:
    """A gzip body (every member) or zlib-wrapped deflate, inflated. Raises TruncatedStreamError when the stream
    stops before its end and zlib.error when it is not deflate at all; bytes after the last member are ignored."""
    parts: list[bytes] = []
    rest = content
    while True:
        stream = zlib.decompressobj(_GZIP_OR_ZLIB)
        parts.append(stream.decompress(rest))
        if not stream.eof:
            raise TruncatedStreamError("the compressed stream stops before its end")
        rest = stream.unused_data
        if rest[:2] != _GZIP_MAGIC:
            return b"".join(parts)


def undo_content_encoding(content: bytes, content_encoding: str) -> bytes:
    """Undo the codings a `Content-Encoding` header declares, last applied first; ValueError for one not asked for."""
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
        if coding in _INFLATED_ENCODINGS:
            content = inflate(content)
        elif coding not in ("", "identity"):
            raise ValueError(f"unsupported Content-Encoding {coding!r}")
    return content


def decode_body(content: bytes, charset: str | None) -> str:
    """Inflated bytes to text: the declared charset, else UTF-8, else cp1253."""
    candidates = [charset] if charset else []
    candidates += ["utf-8", "cp1253"]
    for name in candidates:
        try:
            codecs.lookup(name)
            return content.decode(name).lstrip("\ufeff")
        except (LookupError, UnicodeDecodeError):
            continue
    return content.decode("cp1253", errors="replace")


def parse_json(text: str) -> Any:
    """orjson first; then, for a body with raw TABs, orjson with them escaped (a TAB inside a string means the same
    escaped, one between tokens makes that attempt fail); else the stdlib in non-strict mode, which accepts raw
    control characters inside strings but is slower (docs/performance.md#json-parsing)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    if "\t" in text:
        try:
            return orjson.loads(text.replace("\t", "\\t"))
        except orjson.JSONDecodeError:
            pass
    return json.loads(text, strict=False)


def _where(service: str, page: int | None) -> str:
    return f"{service}" if page is None else f"{service} (page {page})"


def _snippet(service: str, text: str) -> str:
    if service.lower() in LOGIN_SERVICES:
        return "<login body withheld>"
    return redact(" ".join(text.split())[:160])


class SoftOneClient:
    """The HTTP side of one SoftOne installation; thread-safe, one connection pool."""

    def __init__(self, config: SoftOneConfig, *, sleep: Callable[[float], None] = time.sleep,
                 transport: httpx.BaseTransport | None = None) -> None:
        self._config = config
        self._sleep = sleep
        # User info in the URL becomes Basic auth, as httpx would make it, so that httpx's request log shows the
        # URL without the password.
        self._url, basic_auth = split_user_info(config.base_url)
        self._shown_url = url_without_secrets(config.base_url)
        self._http = httpx.Client(
            auth=basic_auth,
            timeout=httpx.Timeout(config.timeout_seconds, connect=config.connect_timeout_seconds),
            headers={"Accept-Encoding": "gzip", "Accept": "application/json", "User-Agent": "erp-sync"},
            transport=transport,
            follow_redirects=False,
        )

    @property
    def config(self) -> SoftOneConfig:
        return self._config

    def call(self, service: str, **params: Any) -> dict[str, Any]:
        """Call one service, retrying transport failures; raises the typed error of a `success:false`."""
        return self.request(service, params)

    def request(self, service: str, params: Mapping[str, Any], *, page: int | None = None,
                retry: bool = True) -> dict[str, Any]:
        """Like `call`, with the browser page to name in errors and whether transport failures are retried."""
        attempts = self.retrying(lambda exc: isinstance(exc, _TransportFailure), enabled=retry)
        try:
            body = attempts(self._attempt, service, params, page)
        except _TransportFailure as failure:
            raise failure.error from failure.__cause__
        if is_failure(body):
            raise error_for(service, body, page=page)
        return body

    def retrying(self, should_retry: Callable[[BaseException], bool], *, enabled: bool = True) -> Retrying:
        """A tenacity policy with this installation's bounds and waits, for callers that retry whole steps."""
        cfg = self._config
        return Retrying(
            stop=stop_after_attempt(cfg.max_retries + 1 if enabled else 1),
            wait=wait_exponential_jitter(multiplier=cfg.retry_backoff_seconds, max=cfg.retry_backoff_max_seconds,
                                         jitter=cfg.retry_backoff_seconds),
            retry=retry_if_exception(lambda exc: should_retry(exc) and not self._http.is_closed),
            sleep=self._sleep,
            reraise=True,
            before_sleep=self._log_retry,
        )

    def close(self) -> None:
        """Close the connections; a request still on its way (a page asked for ahead) fails without a retry."""
        self._http.close()

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        message = exc.error.message if isinstance(exc, _TransportFailure) else str(exc)
        log.warning("SoftOne call failed (%s); attempt %d of %d, next in %.2fs", message,
                    state.attempt_number, self._config.max_retries + 1,
                    state.next_action.sleep if state.next_action else 0.0)

    def _attempt(self, service: str, params: Mapping[str, Any], page: int | None) -> dict[str, Any]:
        content = json.dumps({"service": service, **params}, ensure_ascii=True, separators=(",", ":"))
        started = time.monotonic()
        response, raw = self._post(service, content.encode("ascii"), page)
        log.debug("SoftOne %s -> HTTP %d, %d bytes, %.0f ms", _where(service, page), response.status_code,
                  len(raw), (time.monotonic() - started) * 1000)
        if response.status_code in _RETRIED_STATUSES:
            raise _TransportFailure(RetriableConnectorError(
                f"SoftOne {_where(service, page)} answered HTTP {response.status_code}", page=page,
                details={"service": service, "httpStatus": response.status_code,
                         "mayHaveBeenApplied": response.status_code >= 500}))
        if not 200 <= response.status_code < 300:
            raise BadResponseError(
                f"SoftOne {_where(service, page)} answered HTTP {response.status_code}; check base_url",
                page=page, details={"service": service, "httpStatus": response.status_code})
        encoding = response.headers.get("Content-Encoding", "")
        return self._parse(service, self._unpack(service, raw, encoding, page), response.charset_encoding, page)

    def _post(self, service: str, content: bytes, page: int | None) -> tuple[httpx.Response, bytes]:
        """The response and its body as sent, still compressed if it was: `_unpack` inflates it."""
        try:
            with self._http.stream("POST", self._url, content=content,
                                   headers={"Content-Type": "application/json"}) as response:
                return response, b"".join(response.iter_raw())
        except httpx.TimeoutException as exc:
            sent = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
            hint = "; if pages keep timing out, a smaller source.pageSize makes each one quicker" if page else ""
            raise _TransportFailure(ErpTimeoutError(
                f"SoftOne {_where(service, page)} at {self._shown_url} timed out "
                f"({type(exc).__name__}){hint}", page=page,
                details={"service": service, "mayHaveBeenApplied": sent})) from exc
        except httpx.TransportError as exc:
            sent = not isinstance(exc, httpx.ConnectError)
            hint = "; check connection.baseUrl and that the server is up" if not sent else ""
            raise _TransportFailure(RetriableConnectorError(
                f"SoftOne {_where(service, page)} unreachable at {self._shown_url} "
                f"({type(exc).__name__}){hint}", page=page,
                details={"service": service, "mayHaveBeenApplied": sent})) from exc

    def _unpack(self, service: str, raw: bytes, content_encoding: str, page: int | None) -> bytes:
        """The body with its declared and its headerless gzip undone; a stream cut short is a transport failure."""
        try:
            content = undo_content_encoding(raw, content_encoding)
            return inflate(content) if content[:2] == _GZIP_MAGIC else content
        except TruncatedStreamError as exc:
            raise _TransportFailure(RetriableConnectorError(
                f"SoftOne {_where(service, page)}: the ERP's answer was cut off before its end (its gzip stream "
                "stops short, as when a connection drops mid-body); if this persists, check the network or proxy "
                f"between erp-sync and {self._shown_url}", page=page,
                details={"service": service, "mayHaveBeenApplied": True})) from exc
        except (ValueError, zlib.error) as exc:
            raise BadResponseError(f"SoftOne {_where(service, page)} sent a body that does not decompress ({exc})",
                                   page=page, details={"service": service}) from exc

    def _parse(self, service: str, content: bytes, charset: str | None, page: int | None) -> dict[str, Any]:
        text = decode_body(content, charset)
        head = text.lstrip()[:1]
        if head not in ("{", "["):
            kind = "an empty body" if not head else f"a non-JSON body: {_snippet(service, text)!r}"
            raise _TransportFailure(RetriableConnectorError(
                f"SoftOne {_where(service, page)} sent {kind}", page=page,
                details={"service": service, "mayHaveBeenApplied": True}))
        try:
            body = parse_json(text)
        except ValueError as exc:
            raise BadResponseError(f"SoftOne {_where(service, page)} sent malformed JSON: "
                                   f"{_snippet(service, text)!r}", page=page,
                                   details={"service": service}) from exc
        if not isinstance(body, dict):
            raise BadResponseError(f"SoftOne {_where(service, page)} sent JSON that is not an object", page=page,
                                   details={"service": service})
        return body


def is_transport_error(exc: BaseException) -> bool:
    """True for transport failures the client gave up on (not session or paging signals, which subclass too)."""
    return type(exc) in (RetriableConnectorError, ErpTimeoutError)


def may_have_been_applied(exc: ConnectorError) -> bool:
    """Whether a failed request may have reached the server; unknown counts as yes."""
    return bool(exc.details.get("mayHaveBeenApplied", True))
