"""Serving the SOAP sandbox over real HTTP: `start_soap_in_thread` for tests and the demo, `serve_soap` for the CLI
(werkzeug's threaded server, quiet, as for the SoftOne sandbox)."""

from __future__ import annotations

import logging

from ..server import RunningSandbox, _server, serve_in_thread
from .app import SoapSandboxApp, create_app
from .config import SoapSandboxConfig

log = logging.getLogger(__name__)


class RunningSoapSandbox(RunningSandbox[SoapSandboxApp]):
    """A SOAP sandbox served on a background thread; `stop()` (or leaving a `with` block) shuts it down."""

    def page_url(self, page: str) -> str:
        """A page service's address, also its WSDL's (GET), e.g. http://127.0.0.1:PORT/WS/CRONUS/Page/Customer."""
        return f"{self.base_url}/WS/{self.app.state.config.company}/Page/{page}"


def start_soap_in_thread(config: SoapSandboxConfig | None = None, host: str = "127.0.0.1",
                         port: int = 0) -> RunningSoapSandbox:
    """Serve a new SOAP sandbox on a daemon thread; port 0 picks a free port."""
    running = serve_in_thread(create_app(config), host, port, "soap-sandbox")
    return RunningSoapSandbox(app=running.app, server=running.server, thread=running.thread, host=running.host,
                              port=running.port)


def serve_soap(config: SoapSandboxConfig | None = None, host: str = "127.0.0.1", port: int = 8098) -> None:
    """Serve a SOAP sandbox in the foreground until interrupted (`erp-sync sandbox --soap`)."""
    app = create_app(config)
    server = _server(app, host, port)
    cfg = app.state.config
    log.info("SOAP sandbox: http://%s:%s/WS/%s/Page/Customer and /Page/Item (user %s, %s customers, %s items)",
             host, server.server_port, cfg.company, cfg.username, cfg.customers, cfg.items)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
