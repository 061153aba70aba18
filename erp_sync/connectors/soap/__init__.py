"""The SOAP connector: zeep for WSDL-based ERPs, Dynamics NAV / Business Central page services first.

Modules, outside in: `connector` (the ErpConnector protocol: discovery, reads, writes with NAV's Key), `paging`
(ReadMultiple with bookmarks, filters and the window), `records` (zeep's values as text), `client` (the zeep
client, retries), `transport` (requests session, timeouts, auth, WSDL cache, log redaction), `errors` (faults
and transport errors as connector errors), `config` (connection settings and profiles).
"""

from erp_sync.connectors.soap.config import NAV_PAGE, SoapConfig, SoapProfile
from erp_sync.connectors.soap.connector import SoapConnector

__all__ = ["NAV_PAGE", "SoapConfig", "SoapConnector", "SoapProfile"]
