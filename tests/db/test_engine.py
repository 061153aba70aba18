import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from erp_sync.db.engine import make_engine
from erp_sync.errors import ErpSyncError


def test_engine_round_trips_a_row_on_each_database(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, name VARCHAR(20))"))
        conn.execute(text("INSERT INTO probe (id, name) VALUES (1, 'Αθήνα')"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM probe WHERE id = 1")).scalar_one() == "Αθήνα"
    engine.dispose()


def test_a_new_sqlite_file_and_its_wal_and_shm_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "erp-sync.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO probe (id) VALUES (1)"))
        modes = {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()}
    engine.dispose()
    assert modes == {"erp-sync.sqlite3": "0o600", "erp-sync.sqlite3-wal": "0o600", "erp-sync.sqlite3-shm": "0o600"}


def test_an_existing_sqlite_file_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o640)
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    engine.dispose()
    assert oct(path.stat().st_mode & 0o777) == "0o640"


def test_a_sqlite_file_in_a_folder_that_cannot_be_made_is_a_configuration_error_naming_the_url(
        tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    url = f"sqlite:///{tmp_path / 'a-file' / 'erp.sqlite3'}"
    with pytest.raises(ErpSyncError) as caught:
        make_engine(url)
    assert caught.value.code == "CONFIGURATION_ERROR" and caught.value.field == "ERP_SYNC_DATABASE_URL"
    assert str(tmp_path / "a-file" / "erp.sqlite3") in caught.value.message
