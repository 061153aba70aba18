"""The embedded default's demo: the built-in SoftOne sandbox on loopback and one integration syncing its customers
every minute into a local table `demo_customers`, so a newcomer sees real scheduled syncs at once.

The demo is created active at start-up, so no slot before it was missed and catch-up leaves it alone; its first run
is started explicitly instead (`start_first_demo_run`), so the customers are there at once, not a minute later.
"""

from __future__ import annotations

import logging
from typing import Any

from erp_sync.domain.run import Trigger
from erp_sync.errors import ErpSyncError

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


def start_first_demo_run(app: Any, integration_id: int) -> int | None:
    """Start the demo's first run now, in the background, if it is active and has never run; the run's id."""
    record = app.integrations.get(integration_id)
    if not record.spec.is_active or record.last_sync_at is not None:
        return None
    log.info("running the demo integration %s once now, at start-up (its first load); from then on its schedule "
             "runs it every minute", integration_id, extra={"integration_id": integration_id})
    try:
        started = app.dispatch.start(integration_id, Trigger.STARTUP)
    except ErpSyncError as exc:  # another process runs it already: that run loads the customers
        log.info("the demo's first run did not start: %s", exc, extra={"integration_id": integration_id})
        return None
    return int(started.run_id)


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
