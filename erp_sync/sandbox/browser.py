"""Browsers: getBrowserInfo runs a filtered list and hands out a reqID; getBrowserData pages through it.

A reqID (a 19-digit string with leading zeros) keeps the key list of its result: a lazy `range` for an unfiltered
untouched table, an `array` of keys otherwise, so the row set and order stay fixed while row values are read at
page time. A handle expires (error 13) after `reqid_max_calls` getBrowserData calls, after `reqid_ttl_seconds`
without use, or when more than `max_browsers` newer handles exist; a reqID never issued answers 102.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from .encoding import WirePayload
from .filters import parse_filters, select_keys
from .protocol import REQID_EXPIRED, REQID_NOT_FOUND, Request, ServiceError, invalid
from .schema import ObjectSpec, lookup_object
from .store import ObjectStore

if TYPE_CHECKING:
    from .state import SandboxState

DEFAULT_LISTS = ("", "DEFAULT")
_REMEMBERED_EXPIRED = 10000


@dataclass
class Browser:
    req_id: str
    spec: ObjectSpec
    keys: Sequence[int] | None
    last_used: float
    calls: int = 0


class BrowserTable:
    """Live and recently expired reqIDs, oldest first."""

    def __init__(self) -> None:
        self._handles: OrderedDict[str, Browser] = OrderedDict()

    def open(self, spec: ObjectSpec, keys: Sequence[int], now: float, max_live: int) -> Browser:
        req_id = "00" + str(secrets.randbelow(10**17)).zfill(17)
        browser = Browser(req_id, spec, keys, now)
        self._handles[req_id] = browser
        live = [b for b in self._handles.values() if b.keys is not None]
        for old in live[: max(0, len(live) - max_live)]:
            old.keys = None
        while len(self._handles) > _REMEMBERED_EXPIRED:
            self._handles.popitem(last=False)
        return browser

    def use(self, req_id: str, state: SandboxState) -> Browser:
        """The live handle, counted as used; ServiceError 13 (expired) or 102 (never issued) otherwise."""
        browser = self._handles.get(req_id)
        if browser is None:
            raise ServiceError(REQID_NOT_FOUND)
        config, now = state.config, state.config.timestamp()
        ttl, limit = config.reqid_ttl_seconds, config.reqid_max_calls
        if (ttl is not None and now - browser.last_used > ttl) or (limit is not None and browser.calls >= limit):
            browser.keys = None
        if browser.keys is None:
            raise ServiceError(REQID_EXPIRED)
        browser.calls += 1
        browser.last_used = now
        return browser

    def live_count(self) -> int:
        return sum(1 for b in self._handles.values() if b.keys is not None)


def page(
    store: ObjectStore, keys: Sequence[int], start: int, limit: int | None, *, wire: bool = False
) -> list[list[str]]:
    """Positional rows for keys[start:start+limit]: ZOOMINFO 'OBJECT;KEY' then the browser's columns.

    With `wire`, values come in encoding.to_wire form (for a WirePayload body)."""
    spec = store.spec
    pick = itemgetter(*(spec.index[name] for name in spec.browser))
    key_index, prefix = spec.key_index, spec.name + ";"
    window = keys[start:] if limit is None else keys[start : start + limit]
    rows = store.wire_rows(window) if wire else store.rows(window)
    return [[prefix + row[key_index], *pick(row)] for row in rows]


def _browser_spec(req: Request) -> ObjectSpec:
    spec = lookup_object(req.text("OBJECT"))
    if spec is None:
        raise invalid(f"object {req.text('OBJECT')!r} has no browser in the sandbox (CUSTOMER, ITEM)")
    if req.text("LIST").upper() not in DEFAULT_LISTS:
        raise invalid(f"browser LIST {req.text('LIST')!r} not found; the sandbox has only the default list")
    return spec


def _describe(spec: ObjectSpec) -> dict[str, Any]:
    fields = [{"name": "ZOOMINFO", "type": "string"}]
    columns = []
    for name in spec.browser:
        f = spec.fields[spec.index[name]]
        fields.append({"name": f"{spec.name}.{name}", "type": f.browser_type})
        columns.append(
            {
                "dataIndex": f"{spec.name}.{name}",
                "header": f.caption,
                "width": min(300, 40 + 4 * min(f.size, 50)),
                "sortable": True,
                "align": "right" if f.is_number else "left",
                "decs": f.decimals,
                "hidden": False,
            }
        )
    return {"fields": fields, "columns": columns, "sums": [""] * len(columns)}


def get_browser_info(state: SandboxState, req: Request) -> dict[str, Any]:
    """getBrowserInfo: run the list, keep its keys behind a new reqID; VERSION 2 + LIMIT adds the first rows."""
    spec = _browser_spec(req)
    store = state.stores[spec.name]
    keys = select_keys(store, parse_filters(req.text("FILTERS"), spec))
    config = state.config
    browser = state.browsers.open(spec, keys, config.timestamp(), config.max_browsers)
    body: dict[str, Any] = {"success": True, "formDesign": spec.name, "reqID": browser.req_id}
    body["totalcount"] = len(keys)
    body.update(_describe(spec))
    if req.text("VERSION") == "2" and req.has("LIMIT"):
        start = max(0, req.integer("START", 0) or 0)
        rows = page(store, keys, start, max(0, req.integer("LIMIT") or 0))
        state.stats.rows_served += len(rows)
        body["rows"] = rows
    return body


def get_browser_data(state: SandboxState, req: Request) -> dict[str, Any]:
    """getBrowserData: the page START..START+LIMIT of a reqID's result (all remaining rows without LIMIT)."""
    req_id = req.text("reqID")
    if not req_id:
        raise ServiceError(REQID_NOT_FOUND)
    browser = state.browsers.use(req_id, state)
    assert browser.keys is not None
    start = max(0, req.integer("START", 0) or 0)
    limit = req.integer("LIMIT")
    wire = state.config.cp1253_bodies
    rows = page(
        state.stores[browser.spec.name], browser.keys, start, None if limit is None else max(0, limit), wire=wire
    )
    if state.faults.short_row(start) and rows:
        rows[0] = rows[0][:-1]
    state.stats.rows_served += len(rows)
    body = {"success": True, "totalcount": len(browser.keys), "rows": rows}
    return WirePayload(body) if wire else body
