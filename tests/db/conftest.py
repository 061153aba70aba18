"""The database of the tests of erp-sync's own tables: its schema, with integrations 1 and 2 (modules that test other
tables define their own `engine`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from erp_sync.db.engine import make_engine
from erp_sync.db.models import Base, Integration

T0 = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        for number in (1, 2):
            conn.execute(sa.insert(Integration.__table__).values(
                id=number, name=f"integration {number}", connector="softone", connection={}, source={},
                target_table="customers", mappings=[], keys=["code"], cron_expression="*/5 * * * *",
                timezone="Europe/Athens", created_at=T0, updated_at=T0))
    yield engine
    engine.dispose()
