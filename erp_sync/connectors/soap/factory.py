"""A SOAP connector for an integration: its `connection` and profile turned into a `SoapConfig`, and the check
that create, update and the test routes make of `source.object` (UNKNOWN_OBJECT when the WSDL lacks it)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from erp_sync.connectors.base import ConnectorError
from erp_sync.connectors.soap.client import SoapClient
from erp_sync.connectors.soap.config import NAV_PAGE, SoapConfig, SoapProfile
from erp_sync.connectors.soap.connector import SoapConnector
from erp_sync.domain.integration import IntegrationSpec
from erp_sync.domain.soap import GENERIC_SETTINGS, SoapConnection

log = logging.getLogger(__name__)


def profile_of(connection: SoapConnection) -> SoapProfile:
    """NAV's profile, or a generic one: NAV's names where the connection leaves a setting out (the paging
    parameters excepted: a generic service pages only as it says)."""
    if connection.profile == "nav_page":
        return NAV_PAGE
    given: dict[str, Any] = {name: getattr(connection, name) for name in GENERIC_SETTINGS
                             if getattr(connection, name) is not None}
    paging = {"bookmark_parameter": None, "offset_parameter": None, "filter_parameter": None,
              "page_size_parameter": None, "record_key_element": None, "read_one_operation": None}
    return replace(NAV_PAGE, **{**paging, "record_path": "", **given})


def soap_config(spec: IntegrationSpec, cache_path: str | None) -> SoapConfig:
    connection = spec.connection
    assert isinstance(connection, SoapConnection)
    return SoapConfig(wsdl_url=connection.wsdl_url, username=connection.username, password=spec.password or "",
                      profile_name=connection.profile, profile=profile_of(connection), auth=connection.auth,
                      timeout_seconds=connection.timeout_seconds, tls_verify=connection.tls_verify,
                      server_timezone=connection.server_timezone, cache_path=cache_path)


def soap_connector(spec: IntegrationSpec, cache_path: str | None, *,
                   sleep: Callable[[float], None] = time.sleep) -> SoapConnector:
    """The connector for `spec`; `sleep` waits out the retry backoff (tests pass one that does not wait)."""
    config = soap_config(spec, cache_path)
    return SoapConnector(config, SoapClient(config, sleep=sleep))


def check_object(spec: IntegrationSpec, cache_path: str | None) -> None:
    """Refuse (UNKNOWN_OBJECT) a source.object the WSDL has no record element for. A service that cannot be
    reached now does not stop a save: the run, or the test route, will say what is wrong with it."""
    connector = soap_connector(spec, cache_path)
    try:
        connector.object_tables(spec.source.object)
    except ConnectorError as exc:
        log.warning("integration %r: the SOAP service could not be asked about source.object %r: %s", spec.name,
                    spec.source.object, exc.message)
    finally:
        connector.close()
