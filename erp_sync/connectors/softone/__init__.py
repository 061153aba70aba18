"""The SoftOne (Soft1 Series) connector: JSON web services at `/s1services`, as described in docs/softone.md.

Modules, outside in: `connector` (the ErpConnector protocol), `browser` and `queries` (reads), `session` (login
and the shared clientID), `client` (HTTP, decoding, transport retries), `codes` (what SoftOne's error codes mean),
`config` (connection settings).
"""

from erp_sync.connectors.softone.config import SoftOneConfig
from erp_sync.connectors.softone.connector import SoftOneConnector
from erp_sync.connectors.softone.session import SessionPool

__all__ = ["SessionPool", "SoftOneConfig", "SoftOneConnector"]
