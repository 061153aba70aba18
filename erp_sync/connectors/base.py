"""What an ERP must offer erp-sync, and the errors it may answer with.

A connector reads a source as a stream of `Page`s, writes single records back (`push`), and can describe itself
for discovery. It knows nothing of databases or web frameworks. Errors fall into three families
(docs/architecture.md#errors): fatal (stop the run), retriable (the connector already retried, bounded, before
raising) and skippable (one record failed, the run goes on). Every error carries a stable code and, where known,
the page it happened on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from erp_sync.errors import ErpSyncError

SourceMode = Literal["browser", "sqlData", "getTable"]


@dataclass(frozen=True)
class Query:
    """What to read. `object` is the ERP object (CUSTOMER), or for sqlData the script name, for getTable the table."""

    object: str
    mode: SourceMode = "browser"
    list: str = ""
    filters: str = ""
    fields: tuple[str, ...] = ()
    cursor_field: str | None = None
    key_field: str | None = None
    page_size: int = 5000
    requests_ahead: int = 4  # page requests a connector may have on their way at once (browser paging)
    params: Mapping[str, str] = field(default_factory=dict)
    criteria: tuple[tuple[str, str], ...] = ()  # (field, criteria) filters of connectors that take them (SOAP)


@dataclass(frozen=True)
class Window:
    """An incremental window on the cursor field, in the ERP server's own local time (naive datetimes).

    `since` None means from the beginning; `until` None means up to now.
    """

    since: datetime | None = None
    until: datetime | None = None


@dataclass
class Page:
    """One page as the ERP sent it: positional string rows aligned with `fields`.

    `record_ids` holds, per row, the ERP's primary key of the record (from ZOOMINFO or the key field), or None
    where the source does not reveal it. `number` is 1-based; `start` is the offset of the first row.
    """

    number: int
    start: int
    fields: tuple[str, ...]
    rows: list[Sequence[str]]
    record_ids: list[str | None]
    total: int | None = None
    versions: list[str | None] | None = None  # per row, the record's version where the ERP has one (NAV's Key)

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True)
class PushRequest:
    """One record to write. `record_id` None inserts; `reference` is (field, value) of an idempotency marker that
    the ERP stores in a free field, used to look an insert up before retrying it."""

    object: str
    table: str
    values: Mapping[str, str]
    record_id: str | None = None
    reference: tuple[str, str] | None = None
    version: str | None = None  # the record's version as last read (NAV's Key); an update is refused if it moved


@dataclass(frozen=True)
class PushResult:
    accepted: bool
    record_id: str | None = None
    message: str | None = None
    error_code: str | None = None
    existing: bool = False  # an insert found already saved (by its reference): no second record was made
    version: str | None = None  # the record's version after the push, or its current one when refused as stale
    current: Mapping[str, str] | None = None  # when refused as stale (ERP_RECORD_CHANGED): the record as it is now


@dataclass(frozen=True)
class ConnectionReport:
    """What a connection test found: who we are on the ERP and which objects exist."""

    ok: bool
    server_version: str | None = None
    company: str | None = None
    objects: list[dict[str, Any]] = field(default_factory=list)


class ErpConnector(Protocol):
    """The protocol every ERP connector implements."""

    def check(self) -> ConnectionReport:
        """Log in and list the objects the account may use."""
        ...

    def object_tables(self, object_name: str) -> list[dict[str, Any]]:
        """The tables of one object (name, dbname, caption)."""
        ...

    def table_fields(self, object_name: str, table: str) -> list[dict[str, Any]]:
        """The fields of one table of an object (name, type, size, caption, ...)."""
        ...

    def pages(self, query: Query, window: Window | None = None) -> Iterator[Page]:
        """Stream the source page by page; raises ConnectorError subclasses naming the page."""
        ...

    def push(self, request: PushRequest) -> PushResult:
        """Insert or update one record; a business refusal comes back as accepted=False, not an exception."""
        ...

    def close(self) -> None:
        ...


class ConnectorError(ErpSyncError):
    """Base of every ERP-side failure."""

    code = "ERP_ERROR"
    retriable = False

    def __init__(self, message: str, *, code: str | None = None, page: int | None = None,
                 erp_code: int | None = None, details: dict[str, Any] | None = None) -> None:
        merged = dict(details or {})
        if page is not None:
            merged["page"] = page
        if erp_code is not None:
            merged["erpCode"] = erp_code
        super().__init__(message, code=code, details=merged)
        self.page = page
        self.erp_code = erp_code


class FatalConnectorError(ConnectorError):
    """Retrying will not help (bad credentials, account problems, malformed answers): stop the run."""


class BadCredentialsError(FatalConnectorError):
    code = "ERP_BAD_CREDENTIALS"


class AccountProblemError(FatalConnectorError):
    code = "ERP_ACCOUNT_PROBLEM"


class BadResponseError(FatalConnectorError):
    code = "ERP_BAD_RESPONSE"


class PagingLoopError(FatalConnectorError):
    code = "ERP_PAGING_LOOP"


class RetriableConnectorError(ConnectorError):
    """Transport trouble that outlived the connector's own bounded retries; a later run may succeed."""

    code = "ERP_UNAVAILABLE"
    retriable = True


class ErpTimeoutError(RetriableConnectorError):
    code = "ERP_TIMEOUT"


class SkippableConnectorError(ConnectorError):
    """One record was refused (a business rule); keep the message with the record and go on."""

    code = "ERP_BUSINESS_ERROR"


_SECRET_KEYS = re.compile(r"(password|passwd|clientid|client_id|token|secret|authorization)", re.IGNORECASE)
_SECRET_IN_TEXT = re.compile(
    r'(?i)("?(?:password|passwd|clientid|client_id|token|secret)"?\s*[:=]\s*"?)([^"&,\s}]+)'
)


def url_without_secrets(url: str) -> str:
    """`url` for logs and messages: without user info (`user:password@`), query or fragment, which can carry
    secrets. Every ERP URL that reaches a log line or a message goes through here."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def split_user_info(url: str) -> tuple[str, tuple[str, str] | None]:
    """(`url` without its user info, (user, password) from it or None): for HTTP clients that would otherwise
    log the URL with the password (httpx logs every request's URL)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    bare = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, parts.fragment))
    return bare, (unquote(parts.username or ""), unquote(parts.password or ""))


def redact(value: Any) -> Any:
    """A copy of a request body, header map or message with secrets replaced by '***'."""
    if isinstance(value, Mapping):
        return {k: ("***" if _SECRET_KEYS.search(str(k)) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return _SECRET_IN_TEXT.sub(r"\1***", value)
    return value
