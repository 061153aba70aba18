"""Serving the sandbox over real HTTP: `start_in_thread` for tests and the demo, `serve` for the CLI.

Both use werkzeug's threaded WSGI server (one thread per connection), which also lets the app drop a connection
on purpose. Request logging is off; the server identifies itself like IIS.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Generic, TypeVar

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import SandboxApp, create_app
from .config import SandboxConfig

log = logging.getLogger(__name__)

AppT = TypeVar("AppT")


class _QuietHandler(WSGIRequestHandler):
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: benchmarks make a thousand requests a second."""


def _server(app: Any, host: str, port: int) -> BaseWSGIServer:
    return make_server(host, port, app, threaded=True, request_handler=_QuietHandler)


@dataclass
class RunningSandbox(Generic[AppT]):
    """A sandbox (the SoftOne one, or another app of this package) served on a background thread; `stop()` (or
    leaving a `with` block) shuts it down."""

    app: AppT
    server: BaseWSGIServer
    thread: threading.Thread
    host: str
    port: int
    _stopped: bool = field(default=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The SoftOne endpoint, e.g. http://127.0.0.1:PORT/s1services."""
        return f"{self.base_url}/s1services"

    @property
    def admin_url(self) -> str:
        """The admin surface, e.g. http://127.0.0.1:PORT/_sandbox."""
        return f"{self.base_url}/_sandbox"

    def stop(self) -> None:
        """Stop serving and free the port; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> RunningSandbox[AppT]:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_in_thread(config: SandboxConfig | None = None, host: str = "127.0.0.1",
                    port: int = 0) -> RunningSandbox[SandboxApp]:
    """Serve a new sandbox on a daemon thread; port 0 picks a free port."""
    return serve_in_thread(create_app(config), host, port, "softone-sandbox")


def serve_in_thread(app: AppT, host: str, port: int, name: str) -> RunningSandbox[AppT]:
    """Serve any WSGI app of the sandboxes on a daemon thread; port 0 picks a free port."""
    server = _server(app, host, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name=name, daemon=True)
    thread.start()
    return RunningSandbox(app=app, server=server, thread=thread, host=host, port=server.server_port)


def serve(config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 8099) -> None:
    """Serve a sandbox in the foreground until interrupted (the `erp-sync sandbox` command)."""
    app = create_app(config)
    server = _server(app, host, port)
    cfg = app.state.config
    log.info(
        "SoftOne sandbox on http://%s:%s/s1services (user %s, appId %s, %s customers, %s items, seed %s)",
        host,
        server.server_port,
        cfg.username,
        cfg.app_id,
        cfg.customers,
        cfg.items,
        cfg.seed,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
