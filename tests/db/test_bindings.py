"""db.bindings on SQLite and PostgreSQL: bulk hashes and upserts, deletion scans, and the two-way operations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from erp_sync.db import bindings

T0 = datetime(2024, 7, 1, 9, 0, tzinfo=UTC)


def rows(count: int, prefix: str = "h") -> list[tuple[str, str, str, str | None]]:
    return [(f"{i}", f"C{i:05d}", f"{prefix}{i}", f"s{i}") for i in range(count)]


def test_upsert_then_hashes_for_reads_a_page_back_in_one_call(engine: Engine) -> None:
    with engine.begin() as conn:
        assert bindings.upsert(conn, 1, rows(50), T0) == 50
        bindings.upsert(conn, 2, [("0", "other", "x", None)], T0)
    with engine.begin() as conn:
        found = bindings.hashes_for(conn, 1, ["0", "7", "49", "absent"])
        assert bindings.hashes_for(conn, 1, []) == {}
        assert bindings.count(conn, 1) == 50 and bindings.count(conn, 2) == 1
    assert found == {"0": "h0", "7": "h7", "49": "h49"}


@pytest.mark.parametrize("count", [150, 1500])
def test_upsert_updates_changed_bindings_and_clears_push_state(engine: Engine, count: int) -> None:
    later = T0 + timedelta(hours=1)
    with engine.begin() as conn:
        bindings.upsert(conn, 1, rows(count), T0)
        bindings.mark_failed(conn, 1, "3", "refused")
        changed = [(e, lk, "new" + h, "new" + s) for e, lk, h, s in rows(count)[:100]]
        assert bindings.upsert(conn, 1, changed, later) == 100
    with engine.begin() as conn:
        found = bindings.hashes_for(conn, 1, [str(i) for i in range(count)])
        (three,) = bindings.find_by_local_key(conn, 1, ["C00003"]).values()
    assert (found["3"], found["99"], found["100"], found["120"]) == ("newh3", "newh99", "h100", "h120")
    assert (three.push_state, three.push_error) == (None, None)
    assert three.synced_at == later


def test_hashes_for_splits_pages_larger_than_the_sqlite_variable_limit(engine: Engine) -> None:
    many = rows(40_000)
    with engine.begin() as conn:
        bindings.upsert(conn, 1, many, T0)
        found = bindings.hashes_for(conn, 1, [erp_key for erp_key, *_ in many])
        local = bindings.local_keys_for(conn, 1, ["39999", "5"])
    assert len(found) == 40_000 and found["39999"] == "h39999"
    assert local == {"39999": "C39999", "5": "C00005"}


def test_deletion_scans_stream_keys_and_delete_removes_them(engine: Engine) -> None:
    with engine.begin() as conn:
        bindings.upsert(conn, 1, rows(12), T0)
        bindings.upsert(conn, 2, rows(3), T0)
    with engine.begin() as conn:
        keys = list(bindings.iter_erp_keys(conn, 1, batch_size=5))
    assert keys == sorted(str(i) for i in range(12))
    with engine.begin() as conn:
        assert bindings.delete(conn, 1, ["0", "1", "absent"]) == 2
        assert bindings.delete(conn, 1, []) == 0
        assert bindings.count(conn, 1) == 10 and bindings.count(conn, 2) == 3


def test_a_refused_push_stays_pending_with_the_erps_message_until_an_accepted_push_rewrites_the_binding(
        engine: Engine) -> None:
    later = T0 + timedelta(minutes=5)
    with engine.begin() as conn:
        bindings.upsert(conn, 1, rows(5), T0)
        assert bindings.mark_failed(conn, 1, "2", "S1:ESoftOneError: Ο κωδικός υπάρχει ήδη")
        assert not bindings.mark_failed(conn, 1, "absent", "x")
    with engine.begin() as conn:
        refused = bindings.find_by_local_key(conn, 1, ["C00002"])["C00002"]
        assert (refused.push_state, refused.push_error) == ("pending", "S1:ESoftOneError: Ο κωδικός υπάρχει ήδη")
        bindings.upsert(conn, 1, [("2", "C00002", "pushed-hash", None)], later)
        by_local = bindings.find_by_local_key(conn, 1, ["C00002", "nope"])
    assert (by_local["C00002"].push_state, by_local["C00002"].push_error) == (None, None)
    assert by_local["C00002"].row_hash == "pushed-hash" and by_local["C00002"].synced_at == later
    assert "nope" not in by_local


@pytest.mark.parametrize("count", [5, 300])
def test_keys_with_quotes_backslashes_commas_and_greek_text_round_trip(engine: Engine, count: int) -> None:
    odd = ['a"b', "back\\slash", "{braced,comma}", "Κωδικός 7", "NULL", "", " spaced ", "tab\there", "emoji 🙂"]
    keys = [*odd, *(f"k{i}" for i in range(count - len(odd)))] if count > len(odd) else odd[:count]
    written = [(key, f"L:{key}", f"h:{key}", None) for key in keys]
    with engine.begin() as conn:
        assert bindings.upsert(conn, 1, written, T0) == len(keys)
    with engine.begin() as conn:
        found = bindings.hashes_for(conn, 1, [*keys, "absent"])
        local = bindings.local_keys_for(conn, 1, keys)
    assert found == {key: f"h:{key}" for key in keys}
    assert local == {key: f"L:{key}" for key in keys}


def test_a_big_page_with_a_repeated_key_keeps_its_last_row(engine: Engine) -> None:
    page = [*rows(400), ("7", "C-last", "h-last", "s-last")]
    with engine.begin() as conn:
        bindings.upsert(conn, 1, page, T0)
        assert bindings.count(conn, 1) == 400
        assert bindings.local_keys_for(conn, 1, ["7"]) == {"7": "C-last"}
        assert bindings.hashes_for(conn, 1, ["7", "8"]) == {"7": "h-last", "8": "h8"}
        assert bindings.stale_sources(conn, 1, ["7", "8"], ["s-last", "s8"]) == {}


def test_a_source_hash_refresh_moves_nothing_else_and_a_push_forgets_the_source_hash(engine: Engine) -> None:
    later = T0 + timedelta(minutes=5)
    with engine.begin() as conn:
        bindings.upsert(conn, 1, rows(3), T0)
        bindings.mark_failed(conn, 1, "1", "refused")
        assert bindings.set_source_hashes(conn, 1, [("1", "fresh-1"), ("2", "fresh-2"), ("absent", "x")]) == 2
    with engine.begin() as conn:
        assert bindings.stale_sources(conn, 1, ["0", "1", "2"], ["s0", "fresh-1", "fresh-2"]) == {}
        one = bindings.find_by_local_key(conn, 1, ["C00001"])["C00001"]
        assert (one.erp_key, one.row_hash, one.synced_at, one.push_state) == ("1", "h1", T0, "pending")
        bindings.upsert(conn, 1, [("1", "C00001", "pushed", None)], later)  # what an accepted push writes
    with engine.begin() as conn:
        assert bindings.stale_sources(conn, 1, ["1"], ["fresh-1"]) == {"1": "pushed"}


@pytest.mark.parametrize("count", [4, 5000])
def test_stale_sources_returns_only_new_and_changed_keys_with_their_row_hash(engine: Engine, count: int) -> None:
    odd = ['a"b', "Κωδικός 7", "back\\slash"]
    written = [*rows(count), *((key, key, f"h:{key}", f"s:{key}") for key in odd), ("nohash", "n", "hn", None)]
    with engine.begin() as conn:
        bindings.upsert(conn, 1, written, T0)
        bindings.upsert(conn, 2, [("1", "other", "x", "s1-changed")], T0)
    keys = [str(i) for i in range(count)] + odd + ["nohash", "new"]
    sources = [f"s{i}" for i in range(count)] + [f"s:{key}" for key in odd] + ["s-n", "s-new"]
    sources[1] = "s1-changed"  # integration 2 holds this one: it does not count for integration 1
    with engine.begin() as conn:
        stale = bindings.stale_sources(conn, 1, keys, sources)
        assert bindings.stale_sources(conn, 1, [], []) == {}
    assert stale == {"1": "h1", "nohash": "hn", "new": None}


@pytest.mark.parametrize("count", [5, 300])
def test_insert_new_writes_bindings_with_odd_keys_and_keeps_the_last_of_a_repeated_key(engine: Engine,
                                                                                          count: int) -> None:
    odd = ['a"b', "back\\slash", "{braced,comma}", "Κωδικός 7", "tab\there", "emoji 🙂", "NULL"]
    keys = [*odd, *(f"k{i}" for i in range(count - len(odd)))] if count > len(odd) else odd[:count]
    written = [(key, f"L:{key}", f"h:{key}", None if i % 2 else f"s:{key}") for i, key in enumerate(keys)]
    written.append((keys[0], "L:last", "h:last", "s:last"))
    with engine.begin() as conn:
        bindings.insert_new(conn, 1, written, T0)
    with engine.begin() as conn:
        assert bindings.count(conn, 1) == len(keys)
        found = bindings.hashes_for(conn, 1, keys)
        local = bindings.local_keys_for(conn, 1, keys[:2])
        stale = bindings.stale_sources(conn, 1, keys, [f"s:{key}" for key in keys])
        (first,) = [b for b in bindings.find_by_local_key(conn, 1, ["L:last"]).values()]
    assert found == {key: "h:last" if key == keys[0] else f"h:{key}" for key in keys}
    assert local[keys[1]] == f"L:{keys[1]}" and (first.erp_key, first.synced_at) == (keys[0], T0)
    assert stale == {key: f"h:{key}" for i, key in enumerate(keys) if i % 2} | {keys[0]: "h:last"}


def test_insert_new_of_a_key_that_exists_fails_the_page_instead_of_overwriting(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL COPYs new bindings; elsewhere insert_new is upsert")
    with engine.begin() as conn:
        bindings.upsert(conn, 1, rows(1), T0)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        bindings.insert_new(conn, 1, rows(300), T0)
    with engine.begin() as conn:
        assert bindings.count(conn, 1) == 1


@pytest.mark.parametrize("count", [50, 300])  # PostgreSQL: INSERT ... DO NOTHING, then COPY
def test_insert_absent_writes_new_keys_and_says_so_when_one_was_bound_after_all(engine: Engine, count: int) -> None:
    with engine.begin() as conn:
        assert not bindings.any_bound(conn, 1)
        assert bindings.insert_absent(conn, 1, rows(count), T0)
        assert bindings.any_bound(conn, 1) and not bindings.any_bound(conn, 2)
        assert bindings.hashes_for(conn, 1, ["0", str(count - 1)]) == {"0": "h0", str(count - 1): f"h{count - 1}"}
    proven = True
    with engine.connect() as conn:
        proven = bindings.insert_absent(conn, 1, [*rows(count + 1, "new")[count:], *rows(1, "new")], T0)
        conn.rollback()  # as the page loader does: the page is redone the careful way
    assert proven is False
    with engine.begin() as conn:
        assert bindings.count(conn, 1) == count and bindings.hashes_for(conn, 1, ["0"]) == {"0": "h0"}
        assert bindings.insert_absent(conn, 1, rows(count + 400)[count:], T0)  # other keys still go in
        assert bindings.count(conn, 1) == count + 400


@pytest.mark.parametrize("count", [150, 1500])  # PostgreSQL: the re-import of 1000 keys takes the merge path
def test_a_tombstone_is_reported_as_such_left_out_of_live_scans_and_cleared_by_the_next_import(
        engine: Engine, count: int) -> None:
    later = T0 + timedelta(hours=1)
    with engine.begin() as conn:
        bindings.upsert(conn, 1, rows(count), T0)
        bindings.mark_failed(conn, 1, "3", "refused")
        assert bindings.tombstone(conn, 1, [str(i) for i in range(1000)] + ["absent"], later) == min(count, 1000)
    with engine.begin() as conn:
        assert bindings.hashes_for(conn, 1, ["3", "absent"]) == {"3": bindings.TOMBSTONED}
        stale = bindings.stale_sources(conn, 1, ["3", str(count - 1)], ["s3", f"s{count - 1}"])
        last_tombstoned = {str(count - 1): bindings.TOMBSTONED} if count <= 1000 else {}  # else live, unchanged
        assert stale == {"3": bindings.TOMBSTONED, **last_tombstoned}
        assert bindings.count(conn, 1) == count and bindings.count(conn, 1, live_only=True) == max(count - 1000, 0)
        assert list(bindings.iter_erp_keys(conn, 1, live_only=True)) == sorted(str(i) for i in range(1000, count))
        (three,) = bindings.find_by_local_key(conn, 1, ["C00003"]).values()
        assert (three.erp_deleted_at, three.push_state) == (later, None)
        assert bindings.any_bound(conn, 1)
    with engine.begin() as conn:
        bindings.upsert(conn, 1, rows(min(count, 1000), "back"), later)
    with engine.begin() as conn:
        assert bindings.count(conn, 1, live_only=True) == count
        assert bindings.hashes_for(conn, 1, ["3"]) == {"3": "back3"}


def test_a_live_binding_wins_over_a_tombstone_of_the_same_local_key(engine: Engine) -> None:
    with engine.begin() as conn:
        bindings.upsert(conn, 1, [("9", "C1", "old", None), ("10", "C1", "new", None)], T0)
        bindings.tombstone(conn, 1, ["9"], T0)
        assert bindings.find_by_local_key(conn, 1, ["C1"])["C1"].erp_key == "10"
        bindings.upsert(conn, 1, [("9", "C2", "old", None), ("10", "C2", "new", None)], T0)
        bindings.tombstone(conn, 1, ["10"], T0)
        assert bindings.find_by_local_key(conn, 1, ["C2"])["C2"].erp_key == "9"


def test_a_run_that_wrote_a_tenth_or_less_of_the_bindings_postgresql_statistics_know_leaves_them_to_autovacuum(
        engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite keeps no statistics for these lookups")

    def known() -> float:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT reltuples FROM pg_class "
                                        "WHERE relname = 'erp_sync_bindings'")).scalar_one()

    with engine.begin() as conn:
        bindings.insert_new(conn, 1, rows(1000), T0)
        bindings.refresh_statistics(conn, 1000, first_load=False)  # never analyzed: -1 rows known
    assert known() == 1000
    with engine.begin() as conn:
        bindings.insert_new(conn, 2, rows(100), T0)
        bindings.refresh_statistics(conn, 100, first_load=False)
    assert known() == 1000
    with engine.begin() as conn:
        bindings.insert_new(conn, 3, rows(101), T0)
        bindings.refresh_statistics(conn, 101, first_load=False)
    assert known() == 1201
    with engine.begin() as conn:
        bindings.insert_new(conn, 4, rows(5), T0)
        bindings.refresh_statistics(conn, 5, first_load=True)  # a first load: its integration enters the statistics
    assert known() == 1206
