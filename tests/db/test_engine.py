from sqlalchemy import text

from erp_sync.db.engine import make_engine


def test_engine_round_trips_a_row_on_each_database(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, name VARCHAR(20))"))
        conn.execute(text("INSERT INTO probe (id, name) VALUES (1, 'Αθήνα')"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM probe WHERE id = 1")).scalar_one() == "Αθήνα"
    engine.dispose()
