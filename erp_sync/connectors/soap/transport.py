"""zeep's transport set up for erp-sync: timeouts, TLS verification, authentication, the WSDL cache, no local
files, and no credentials in the log.

zeep's synchronous transport is `requests`. `timeoutSeconds` becomes both zeep's `timeout` (loading the WSDL
and its schemas) and its `operation_timeout` (zeep has none by default, so a hung server would hang a run).
`tlsVerify` is the session's `verify`. Basic and NTLM authentication live on the session (NTLM through the
optional `requests-ntlm` package: `pip install 'erp-sync[ntlm]'`); `wsse` is a WS-Security UsernameToken in
every envelope. WSDLs and schemas are cached in zeep's SQLite cache (in the instance folder). `HttpOnlyTransport`
refuses every address that is not http(s), imports inside a WSDL included, so `file://` is never read.
zeep's transport logs whole envelopes at DEBUG (a UsernameToken's password among them) and urllib3 logs
requests: `install_log_redaction` hides passwords, tokens and Authorization headers in those loggers' lines.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from zeep import Client, Settings
from zeep.cache import Base as CacheBase
from zeep.cache import InMemoryCache, SqliteCache
from zeep.exceptions import TransportError
from zeep.transports import Transport
from zeep.wsse.username import UsernameToken

from erp_sync.connectors.base import url_without_secrets
from erp_sync.connectors.soap.config import SoapConfig
from erp_sync.errors import ConfigurationError

CHATTY_LOGGERS = ("zeep.transports", "zeep.wsdl.loader", "zeep.xsd.schema", "urllib3.connectionpool",
                  "requests_ntlm", "requests.packages.urllib3")
_SECRET_PATTERNS = (
    re.compile(r"(<(?:\w+:)?Password\b[^>]*>)(.*?)(</(?:\w+:)?Password>)", re.DOTALL | re.IGNORECASE),
    re.compile(r"((?:Authorization|Proxy-Authorization)['\"]?\s*[:=]\s*['\"]?)([^'\"\r\n,}]+)", re.IGNORECASE),
    re.compile(r"(://)([^/@\s:]+:[^/@\s]+)(@)"),
)
_known_secrets: set[str] = set()
_installed = threading.Lock()
_filter_installed = False


def redact_text(text: str) -> str:
    """`text` with passwords, Authorization values, URL user info and every password erp-sync holds hidden."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + "***" + (m.group(3) if m.lastindex == 3 else ""), text)
    for secret in list(_known_secrets):
        text = text.replace(secret, "***")
    return text


class SecretsFilter(logging.Filter):
    """Rewrites a record's message with the secrets hidden (the record itself, so every handler sees that)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(password: str = "") -> None:
    """Hide secrets in the lines of zeep's, requests' and urllib3's loggers; `password` is hidden everywhere."""
    global _filter_installed
    if password and len(password) >= 3:
        _known_secrets.add(password)
    with _installed:
        if _filter_installed:
            return
        for name in CHATTY_LOGGERS:
            logging.getLogger(name).addFilter(SecretsFilter())
        _filter_installed = True


class HttpOnlyTransport(Transport):
    """zeep's transport that loads nothing but http(s) addresses, and takes an HTTP error that carries no XML
    (an IIS or proxy error page) as the HTTP error it is, instead of handing HTML to the XML parser."""

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        response = super().post(address, message, headers)
        if response.status_code != 200 and "xml" not in response.headers.get("Content-Type", ""):
            raise TransportError(f"HTTP {response.status_code} from {url_without_secrets(address)}",
                                 status_code=response.status_code)
        return response

    def load(self, url: str) -> bytes:
        scheme = urlsplit(url or "").scheme
        if scheme not in ("http", "https"):
            raise ConfigurationError(f"the WSDL refers to {scheme or 'a local'}:// content "
                                     f"({url_without_secrets(url)[:80]!r}); erp-sync "
                                     "loads WSDLs and schemas over http(s) only", field="connection.wsdlUrl")
        return bytes(super().load(url))


class _Session(requests.Session):
    """A requests session whose `verify = False` holds: requests otherwise lets REQUESTS_CA_BUNDLE or
    CURL_CA_BUNDLE from the environment override it for every request (their value wins the merge)."""

    def merge_environment_settings(self, url: str, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        settings = dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
        if self.verify is False:
            settings["verify"] = False
        return settings


def _session(config: SoapConfig) -> requests.Session:
    session = _Session()
    session.verify = config.tls_verify
    session.headers["User-Agent"] = "erp-sync"
    if config.auth == "basic" and config.username:
        session.auth = (config.username, config.password)
    elif config.auth == "ntlm":
        session.auth = _ntlm(config)
    return session


def _ntlm(config: SoapConfig) -> Any:
    try:
        from requests_ntlm import HttpNtlmAuth
    except ImportError:
        raise ConfigurationError("connection.auth ntlm needs the optional requests-ntlm package: install it with "
                                 "pip install 'erp-sync[ntlm]' (or pip install requests-ntlm) and restart, or use "
                                 "basic or wsse", field="connection.auth") from None
    return HttpNtlmAuth(config.username, config.password)


def _cache(config: SoapConfig) -> CacheBase:
    if config.cache_path:
        # the instance folder exists only once something was written there: with every secret given in the
        # environment nothing is, and SQLite cannot create a file in a missing folder
        Path(config.cache_path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteCache(path=config.cache_path, timeout=config.cache_seconds)
    return InMemoryCache(timeout=config.cache_seconds)


def build_client(config: SoapConfig) -> Client:
    """A zeep client for the WSDL: fetched now (or read from the cache), with the transport set up above."""
    install_log_redaction(config.password)
    transport = HttpOnlyTransport(cache=_cache(config), timeout=config.timeout_seconds,
                                  operation_timeout=config.timeout_seconds, session=_session(config))
    settings = Settings(strict=True, xml_huge_tree=False, forbid_dtd=True, forbid_entities=True,
                        forbid_external=True)
    wsse = UsernameToken(config.username, config.password) if config.auth == "wsse" else None
    profile = config.profile
    return Client(config.wsdl_url, transport=transport, wsse=wsse, settings=settings,
                  service_name=profile.service, port_name=profile.port)
