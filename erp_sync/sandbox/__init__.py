"""The built-in SoftOne sandbox: a WSGI app that answers like a real SoftOne `/s1services` endpoint.

Seeded, deterministic CUSTOMER and ITEM data generated on the fly (a million rows cost nothing until changed),
SoftOne's quirks switched on by default (Windows-1253 bodies, headerless gzip, raw TABs, expiring sessions and
reqIDs), fault switches for tests, and an admin surface under /_sandbox/. It imports nothing else from erp_sync.

    from erp_sync.sandbox import SandboxConfig, start_in_thread
    with start_in_thread(SandboxConfig(customers=50)) as sandbox:
        ...  # POST JSON to sandbox.url; inspect sandbox.app.state or GET sandbox.admin_url + "/stats"
"""

from .app import SandboxApp, create_app
from .config import SandboxConfig
from .server import RunningSandbox, serve, start_in_thread
from .state import SandboxState

__all__ = ["RunningSandbox", "SandboxApp", "SandboxConfig", "SandboxState", "create_app", "serve", "start_in_thread"]
