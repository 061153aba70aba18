"""How to reach one SOAP service: the WSDL, the account, the transport limits, and the profile that says where
the records, the paging and the writes are in it.

`SoapProfile` names the operations and parameters; `NAV_PAGE` is the profile of a Dynamics NAV / Business
Central page web service (ReadMultiple with filter[], bookmarkKey and setSize; Create; Update with the record's
`Key`). A generic profile is the same settings given by hand. `SoapConfig` is immutable, keeps the password out
of its repr, and refuses a WSDL address that is not http(s): zeep would also open `file://` paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from erp_sync.connectors.base import url_without_secrets
from erp_sync.errors import ConfigurationError

Auth = Literal["basic", "ntlm", "wsse"]


@dataclass(frozen=True)
class SoapProfile:
    """Where things are in a SOAP service (every name is an operation, parameter or element name)."""

    read_operation: str = "ReadMultiple"
    filter_parameter: str | None = "filter"  # a list of {Field, Criteria}
    page_size_parameter: str | None = "setSize"
    bookmark_parameter: str | None = "bookmarkKey"  # the next call gets the last record's key here ...
    offset_parameter: str | None = None  # ... or the number of records read so far here
    record_path: str = ""  # dotted path from the answer to the list of records; "" = the answer is the list
    key_element: str = "No"  # the record's primary key (the binding's ERP key)
    record_key_element: str | None = "Key"  # a version the service hands out and demands back on update
    create_operation: str | None = "Create"
    update_operation: str | None = "Update"
    read_one_operation: str | None = "Read"  # reads one record by key_element (the fresh Key after a conflict)
    service: str | None = None
    port: str | None = None


NAV_PAGE = SoapProfile()


@dataclass(frozen=True)
class SoapConfig:
    """Connection settings of one SOAP service."""

    wsdl_url: str
    username: str = ""
    password: str = field(default="", repr=False)
    profile_name: Literal["nav_page", "generic"] = "nav_page"
    profile: SoapProfile = NAV_PAGE
    auth: Auth = "basic"
    timeout_seconds: float = 60.0
    tls_verify: bool = True
    server_timezone: str = "UTC"
    cache_path: str | None = None  # zeep's SQLite cache of WSDLs and schemas; None keeps them in memory
    cache_seconds: int = 3600
    max_retries: int = 2
    retry_backoff_seconds: float = 0.5
    retry_backoff_max_seconds: float = 8.0
    window_overlap: timedelta = timedelta(0)  # on top of the runner's; a date-only cursor adds a day itself

    def __post_init__(self) -> None:
        parts = urlsplit(self.wsdl_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError("connection.wsdlUrl must be an http(s) URL of the service's WSDL",
                                     field="connection.wsdlUrl")
        try:
            ZoneInfo(self.server_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(f"unknown time zone {self.server_timezone!r}",
                                     field="connection.serverTimezone") from exc
        if not 0 < self.timeout_seconds <= 600:
            raise ConfigurationError("connection.timeoutSeconds must be between 1 and 600",
                                     field="connection.timeoutSeconds")
        if self.max_retries < 0:
            raise ConfigurationError("max_retries cannot be negative", field="max_retries")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.server_timezone)

    @property
    def shown_url(self) -> str:
        """The WSDL address for messages: without user info, query or fragment."""
        return url_without_secrets(self.wsdl_url)
