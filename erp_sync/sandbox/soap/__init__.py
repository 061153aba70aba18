"""The built-in SOAP sandbox: Dynamics NAV-style page web services (Customer, Item) over seeded data.

Each page is published at /WS/<Company>/Page/<Page> with its WSDL (GET) and the operations Read, ReadMultiple
(filters and bookmarks), Create, Update (checked against the record's Key) and Delete (POST, SOAP 1.1), behind
HTTP basic authentication (or WS-Security). Switches make it slow, failing, or answer in Windows-1253; fault
switches and an admin surface under /_sandbox/ let tests steer it. It imports nothing else from erp_sync.

    from erp_sync.sandbox.soap import SoapSandboxConfig, start_soap_in_thread
    with start_soap_in_thread(SoapSandboxConfig(customers=50)) as sandbox:
        ...  # zeep.Client(sandbox.page_url("Customer"), ...); sandbox.app.state.rows("Customer")
"""

from .app import SoapSandboxApp, create_app
from .config import SoapSandboxConfig
from .server import RunningSoapSandbox, serve_soap, start_soap_in_thread
from .state import SoapSandboxState

__all__ = ["RunningSoapSandbox", "SoapSandboxApp", "SoapSandboxConfig", "SoapSandboxState", "create_app",
           "serve_soap", "start_soap_in_thread"]
