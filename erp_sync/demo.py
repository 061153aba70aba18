"""The embedded default's demo: the built-in SoftOne sandbox on loopback and one integration syncing its customers
every minute into a local table `demo_customers`, so a newcomer sees real scheduled syncs at once."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

DEMO_NAME = "demo-customers"


def demo_spec(sandbox_url: str) -> dict[str, Any]:
    return {
        "name": DEMO_NAME,
        "connector": "softone",
        "connection": {"baseUrl": sandbox_url, "username": "demo", "password": "demo", "appId": "1001",
                       "company": "1000", "branch": "1000", "module": "0", "refId": "1",
                       "serverTimezone": "Europe/Athens"},
        "source": {"object": "CUSTOMER", "list": "", "mode": "browser", "cursorField": "CUSTOMER.UPDDATE",
                   "pageSize": 500},
        "target": {"table": "demo_customers", "createIfMissing": True},
        "mappings": [
            {"source": "CUSTOMER.TRDR", "target": "erp_id", "type": "integer"},
            {"source": "CUSTOMER.CODE", "target": "code", "type": "string"},
            {"source": "CUSTOMER.NAME", "target": "name", "type": "string"},
            {"source": "CUSTOMER.AFM", "target": "vat_number", "type": "string"},
            {"source": "CUSTOMER.EMAIL", "target": "email", "type": "string"},
            {"source": "CUSTOMER.CITY", "target": "city", "type": "string"},
            {"source": "CUSTOMER.ISACTIVE", "target": "is_active", "type": "boolean"},
            {"source": "CUSTOMER.UPDDATE", "target": "erp_updated_at", "type": "datetime"},
        ],
        "keys": ["erp_id"],
        "schedule": {"cronExpression": "* * * * *", "timezone": "Europe/Athens"},
        "isActive": True,
        "deletePolicy": "soft_delete",
        "softDeleteColumn": "deleted_at",
    }


def ensure_demo_integration(app: Any, sandbox_url: str) -> int:
    """Create the demo integration, or point the existing one at this sandbox's address."""
    for record in app.integrations.list():
        if record.spec.name == DEMO_NAME:
            if getattr(record.spec.connection, "base_url", None) != sandbox_url:
                app.integrations.update(record.id, {"connection": {"baseUrl": sandbox_url}})
            return int(record.id)
    record = app.integrations.create(demo_spec(sandbox_url))
    log.info("created the demo integration %s (id %s) syncing the sandbox every minute", DEMO_NAME, record.id)
    return int(record.id)


def start_demo_activity(sandbox: Any, stop: Any, every_seconds: float = 20.0, changes: int = 3) -> None:
    """Edit a few sandbox customers now and then (new e-mail, UPDDATE bumped), so every scheduled demo run has
    something to bring over: the newcomer sees incremental updates, not only the first load."""
    import random
    import threading

    chooser = random.Random(20261123)

    def loop() -> None:
        state = sandbox.app.state
        while not stop.wait(every_seconds):
            keys = [int(row["TRDR"]) for row in state.rows("CUSTOMER", 0, 2000)]
            for key in chooser.sample(keys, min(changes, len(keys))):
                state.patch_row("CUSTOMER", key, {"EMAIL": f"contact{chooser.randint(1, 9999)}@example.gr"})

    threading.Thread(target=loop, name="erp-sync-demo-activity", daemon=True).start()
