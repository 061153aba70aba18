"""Building a real erp-sync application for tests: migrated database, known secrets, optional sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import text

from erp_sync.bootstrap import ErpSync, build
from erp_sync.db.migrate import upgrade
from erp_sync.settings import Settings, load_settings

API_TOKEN = "test-admin-token-0123456789abcdefghij"  # production wants 32 characters or more
CRON_SECRET = "test-cron-secret-0123456789abcdefghij"
SECRET_KEY = Fernet.generate_key().decode()

CUSTOMERS_DDL = """
CREATE TABLE customers (
    erp_id BIGINT NOT NULL,
    code VARCHAR(25) NOT NULL,
    name VARCHAR(200),
    vat_number VARCHAR(20),
    email VARCHAR(200),
    city VARCHAR(100),
    is_active BOOLEAN,
    erp_updated_at {ts},
    deleted_at {ts},
    local_modified_at {ts},
    CONSTRAINT uq_customers_erp_id UNIQUE (erp_id)
)
"""


def make_settings(database_url: str, instance_dir: Path, **overrides: str) -> Settings:
    env = {
        "ERP_SYNC_DATABASE_URL": database_url, "ERP_SYNC_INSTANCE_DIR": str(instance_dir),
        "ERP_SYNC_API_TOKEN": API_TOKEN, "CRON_SECRET": CRON_SECRET, "ERP_SYNC_SECRET_KEYS": SECRET_KEY,
        "ERP_SYNC_SANDBOX": "off", "ERP_SYNC_SCHEDULER": "off",
    }
    env.update(overrides)
    return load_settings(env)


def build_app(database_url: str, instance_dir: Path, *, with_scheduler: bool = False, **overrides: Any) -> ErpSync:
    upgrade(database_url)
    app = build(make_settings(database_url, instance_dir, **overrides), with_scheduler=with_scheduler)
    with app.engine.begin() as conn:
        stamp = "DATETIME" if app.engine.dialect.name == "sqlite" else "TIMESTAMP WITH TIME ZONE"
        conn.execute(text(CUSTOMERS_DDL.format(ts=stamp)))
    return app


def admin(token: str = API_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def customer_integration(base_url: str = "http://127.0.0.1:9/s1services", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "customers",
        "connector": "softone",
        "connection": {"baseUrl": base_url, "username": "demo", "password": "demo", "appId": "1001",
                       "company": "1000", "branch": "1000", "module": "0", "refId": "1"},
        "source": {"object": "CUSTOMER", "cursorField": "CUSTOMER.UPDDATE", "pageSize": 100},
        "target": {"table": "customers"},
        "mappings": [
            {"source": "CUSTOMER.TRDR", "target": "erp_id", "type": "integer"},
            {"source": "CUSTOMER.CODE", "target": "code"},
            {"source": "CUSTOMER.NAME", "target": "name"},
            {"source": "CUSTOMER.AFM", "target": "vat_number"},
            {"source": "CUSTOMER.EMAIL", "target": "email"},
            {"source": "CUSTOMER.CITY", "target": "city"},
            {"source": "CUSTOMER.ISACTIVE", "target": "is_active", "type": "boolean"},
            {"source": "CUSTOMER.UPDDATE", "target": "erp_updated_at", "type": "datetime"},
        ],
        "keys": ["erp_id"],
        "schedule": {"cronExpression": "*/5 * * * *", "timezone": "Europe/Athens"},
    }
    body.update(changes)
    return body


TWO_WAY_MAPPINGS = [
    {"source": "CUSTOMER.TRDR", "target": "erp_id", "type": "integer", "readOnly": True},
    {"source": "CUSTOMER.CODE", "target": "code"},
    {"source": "CUSTOMER.NAME", "target": "name"},
    {"source": "CUSTOMER.UPDDATE", "target": "erp_updated_at", "type": "datetime"},
]


def two_way_customer_integration(base_url: str, **changes: Any) -> dict[str, Any]:
    """Customers synced both ways into `customers_2w` (created when missing), keyed by code; the ERP id read-only."""
    body = customer_integration(base_url, name="two-way", direction="two_way", mappings=TWO_WAY_MAPPINGS,
                                keys=["code"], target={"table": "customers_2w", "createIfMissing": True})
    body.update(changes)
    return body
