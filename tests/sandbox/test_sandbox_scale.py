"""A million-customer sandbox is instant and light, rows are deterministic, and pages are cheap to build."""

from __future__ import annotations

import re
import time
import tracemalloc

from sandbox_support import S1

from erp_sync.sandbox import SandboxConfig, create_app, start_in_thread
from erp_sync.sandbox.browser import page
from erp_sync.sandbox.data import CustomerRows, ItemRows
from erp_sync.sandbox.encoding import WirePayload, encode_json

MILLION = 1_000_000


def test_a_million_customer_sandbox_is_instant_and_memory_light() -> None:
    tracemalloc.start()
    try:
        began = time.perf_counter()
        with start_in_thread(SandboxConfig(customers=MILLION)) as sandbox:
            created = time.perf_counter() - began
            _, created_peak = tracemalloc.get_traced_memory()
            s1 = S1(sandbox)
            s1.login()
            info = s1.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="")
            last = s1.call("getBrowserData", reqID=info["reqID"], START=MILLION - 1000, LIMIT=1000)
            found = s1.call("getBrowserInfo", OBJECT="CUSTOMER", LIST="", FILTERS="CUSTOMER.CODE=C999999")
            s1.http.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info["totalcount"] == MILLION
    assert len(last["rows"]) == 1000 and last["rows"][-1][0] == f"CUSTOMER;{MILLION}"
    assert found["totalcount"] == 1
    assert created < 2.0, f"creating took {created:.2f}s"
    assert created_peak < 8_000_000, f"creating allocated {created_peak:,} bytes"
    assert peak < 60_000_000, f"creating and serving a page peaked at {peak:,} bytes"


def test_rows_are_a_pure_function_of_seed_and_key() -> None:
    first, again, other = CustomerRows(3, 100, "1000"), CustomerRows(3, 100, "1000"), CustomerRows(4, 100, "1000")
    keys = [1, 50, 99]
    assert first.rows(keys) == again.rows(keys) == [again.row(k) for k in keys]
    assert first.rows(keys) != other.rows(keys)
    assert first.rows([7])[0][13] == "Τιμολόγηση μηνιαία\tΑποστολή με courier"


def test_single_field_getters_agree_with_whole_rows() -> None:
    for generator in (CustomerRows(5, 3000, "1000"), ItemRows(5, 3000, "1000")):
        rows = generator.rows(range(1, 3001))
        for name in ("INSDATE", "UPDDATE", "CODE", generator.spec.key):
            get, index = generator.getter(name), generator.spec.index[name]
            assert [get(k) for k in range(1, 3001)] == [r[index] for r in rows], name


def test_seeded_data_looks_like_softone_data() -> None:
    rows = CustomerRows(1, 3000, "1000").rows(range(1, 3001))
    assert {r[14] for r in rows} >= {"", "1899-12-30 00:00:00"}
    dated = [r for r in rows if r[14] not in ("", "1899-12-30 00:00:00")]
    assert all(r[14] <= r[15] < "2025-01-01" for r in dated)
    assert all(re.fullmatch(r"\d{9}", r[5]) for r in rows if r[5])
    assert all(r[4].encode("cp1253") for r in rows)
    item = ItemRows(1, 10, "1000").row(4)
    assert re.fullmatch(r"520\d{10}", item[5]) and re.fullmatch(r"\d+\.\d{2}", item[8])


def test_building_and_encoding_pages_is_fast_enough_for_the_benchmark() -> None:
    store = create_app(SandboxConfig(customers=MILLION)).state.stores["CUSTOMER"]
    keys = store.keys()
    began = time.perf_counter()
    for start in range(0, 30_000, 1000):
        rows = page(store, keys, start, 1000, wire=True)
        encode_json(WirePayload(success=True, totalcount=MILLION, rows=rows), cp1253=True, raw_tabs=True)
    elapsed = time.perf_counter() - began
    # ~150k+ rows/s on one core here; the bound only catches an accidental slow path.
    assert elapsed < 3.0, f"{30_000 / elapsed:,.0f} rows/s"
