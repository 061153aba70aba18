"""Paging through one SoftOne browser (getBrowserInfo + getBrowserData): docs/softone.md#browsers.

`BrowserPaginator` owns the next-page state: the reqID, the offset and the fields the browser declared. It asks
for `LIMIT` rows at a time until the offset reaches `totalcount` or a page comes back short. When SoftOne forgets
the reqID (13, 213, 102) it reruns getBrowserInfo with the same filters and resumes at the same offset, a bounded
number of times per page. It refuses to loop (the same rows twice in a row) and refuses rows whose width differs
from the declared fields; both errors name the page.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from itertools import chain
from typing import Any

from erp_sync.connectors.base import BadResponseError, Page, PagingLoopError
from erp_sync.connectors.softone.codes import ReqIdLostError
from erp_sync.connectors.softone.session import SoftOneSession

log = logging.getLogger(__name__)

ZOOMINFO = "ZOOMINFO"
AHEAD = 4  # default getBrowserData requests on their way at once on one session (docs/softone.md#paging-ahead)


def zoominfo_key(value: str) -> str | None:
    """The record key of a ZOOMINFO value such as "CUSTOMER;24360" or "01351;594"."""
    _, sep, key = value.rpartition(";")
    return key.strip() or None if sep else None


def cell(value: Any) -> str:
    """A row value as the string SoftOne meant; JSON null becomes ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return value if isinstance(value, str) else str(value)


class BrowserPaginator:
    """Streams one browser query as `Page`s; single use."""

    def __init__(self, session: SoftOneSession, *, object_name: str, list_name: str = "", filters: str = "",
                 page_size: int = 5000, key_field: str | None = None, max_restarts: int = 2,
                 ahead: int = AHEAD) -> None:
        if page_size < 1 or ahead < 1:
            raise ValueError("page_size and ahead must be at least 1")
        self._ahead = ahead
        self._session = session
        self._object = object_name
        self._list = list_name
        self._filters = filters
        self._limit = page_size
        self._key_field = key_field
        self._max_restarts = max_restarts
        self._req_id: str | None = None
        self._total = 0
        self._fields: tuple[str, ...] = ()
        self._start = 0
        self._number = 0
        self._last_rows: list[Sequence[str]] | None = None
        self._reopening = threading.Lock()
        self._gate = _ReqIdGate(ahead)
        self.restarts = 0

    def __iter__(self) -> Iterator[Page]:
        return self.pages()

    def pages(self) -> Iterator[Page]:
        """Pages from the first to the last; a browser matching nothing yields none.

        Up to `ahead` requests for the following pages are on their way while a page is with the caller, so the
        ERP builds the next page while this one is parsed and used. Pages still reach the caller in order, and
        a page that is not full ends the browser as before (requests made past it are dropped)."""
        self._open()
        ahead = ThreadPoolExecutor(self._ahead, thread_name_prefix="softone-next-page")
        queued: deque[tuple[int, Future[list[Sequence[str]]]]] = deque()  # (offset, request), in page order
        try:
            while self._start < self._total:
                number = self._number + 1
                if queued and queued[0][0] != self._start:  # the server sent more than LIMIT: ask again from here
                    for _, request in queued:
                        request.cancel()
                    queued.clear()
                head = queued.popleft()[1] if queued else ahead.submit(self._fetch, number, self._start)
                offset = (queued[-1][0] if queued else self._start) + self._limit
                while len(queued) < self._ahead and offset < self._total:
                    queued.append((offset, ahead.submit(self._fetch, number + 1 + len(queued), offset)))
                    offset += self._limit
                rows = head.result()
                if not rows:
                    log.warning("SoftOne %s browser: page %d empty at offset %d of %d; stopping", self._object,
                                number, self._start, self._total)
                    return
                self._refuse_repeat(rows, number)
                page = Page(number=number, start=self._start, fields=self._fields, rows=rows,
                            record_ids=self._record_ids(rows), total=self._total)
                log.info("SoftOne %s browser page %d: %d rows from offset %d of %d", self._object, number,
                         len(rows), self._start, self._total)
                yield page
                self._number = number
                self._start += len(rows)
                if len(rows) < self._limit:
                    return
        finally:
            for _, request in queued:
                request.cancel()
            ahead.shutdown(wait=False, cancel_futures=True)  # a request already sent is left to finish alone

    def _open(self) -> None:
        body = self._session.request("getBrowserInfo", {"OBJECT": self._object, "LIST": self._list,
                                                        "FILTERS": self._filters}, page=self._number + 1)
        req_id = body.get("reqID")
        fields = _field_names(body.get("fields"))
        total = _count(body.get("totalcount"))
        if total is None or (total > 0 and (req_id in (None, "") or not fields)):
            raise BadResponseError(f"SoftOne getBrowserInfo for {self._object} lacks reqID, totalcount or fields",
                                   page=self._number + 1, details={"service": "getBrowserInfo"})
        if self._fields and fields != self._fields:
            raise BadResponseError(f"SoftOne {self._object} browser changed its fields while paging",
                                   page=self._number + 1, details={"service": "getBrowserInfo"})
        self._req_id, self._fields, self._total = str(req_id), fields, total
        self._gate.opened(self._req_id)

    def _fetch(self, number: int, start: int) -> list[Sequence[str]]:
        restarts = 0
        while True:
            with self._gate:
                req_id = self._req_id
                try:
                    body = self._session.request("getBrowserData", {"reqID": req_id, "START": start,
                                                                    "LIMIT": self._limit}, page=number)
                    self._gate.served(req_id)
                    return self._rows(body, number)
                except ReqIdLostError as exc:
                    lost = exc
            with self._reopening:
                if self._req_id != req_id:  # another page's request reopened it already: not this page's failure
                    continue
                if restarts >= self._max_restarts:
                    raise ReqIdLostError(f"SoftOne {self._object} browser lost its reqID {restarts + 1} times at "
                                         f"page {number}", page=number, erp_code=lost.erp_code,
                                         details={"service": "getBrowserData"}) from lost
                restarts += 1
                self.restarts += 1
                self._gate.lost(req_id)
                log.info("SoftOne %s browser: reqID lost at page %d (code %s); reopening at offset %d",
                         self._object, number, lost.erp_code, start)
                self._open()

    def _rows(self, body: dict[str, Any], number: int) -> list[Sequence[str]]:
        raw = body.get("rows")
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise BadResponseError(f"SoftOne getBrowserData page {number}: rows is not a list", page=number,
                                   details={"service": "getBrowserData"})
        width = len(self._fields)
        if (all(type(row) is list for row in raw) and set(map(len, raw)) <= {width}
                and set(map(type, chain.from_iterable(raw))) <= {str}):
            return raw  # the usual page: every row a list of `width` strings, checked at C speed
        rows: list[Sequence[str]] = []
        for index, row in enumerate(raw):
            if not isinstance(row, list) or len(row) != width:
                size = len(row) if isinstance(row, list) else type(row).__name__
                raise BadResponseError(
                    f"SoftOne {self._object} browser page {number} row {index} has {size} values, "
                    f"the browser declared {width} fields", page=number,
                    details={"service": "getBrowserData", "row": index})
            rows.append(tuple(cell(value) for value in row))
        return rows

    def _refuse_repeat(self, rows: list[Sequence[str]], number: int) -> None:
        if rows == self._last_rows:  # usually settled by the first row
            raise PagingLoopError(f"SoftOne {self._object} browser returned the same rows for page {number} as for "
                                  f"page {number - 1}; the server ignores START", page=number,
                                  details={"service": "getBrowserData"})
        self._last_rows = rows

    def _record_ids(self, rows: list[Sequence[str]]) -> list[str | None]:
        if self._fields and self._fields[0] == ZOOMINFO:
            return [zoominfo_key(row[0]) for row in rows]
        if self._key_field and self._key_field in self._fields:
            index = self._fields.index(self._key_field)
            return [row[index] or None for row in rows]
        return [None] * len(rows)


class _ReqIdGate:
    """How many getBrowserData requests may be on their way at once on the current reqID.

    A server whose reqIDs serve only a few calls would refuse most of several concurrent requests on one reqID,
    each refusal costing a re-open. When a reqID is lost, the requests in flight at once are capped at the calls
    it served, so that later reqIDs are not overrun the same way; a server that keeps its reqIDs for many calls
    never lowers the cap."""

    def __init__(self, capacity: int) -> None:
        self._changed = threading.Condition()
        self._capacity = capacity
        self._busy = 0
        self._req_id: str | None = None
        self._served = 0

    def __enter__(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._busy < self._capacity)
            self._busy += 1

    def __exit__(self, *_: object) -> None:
        with self._changed:
            self._busy -= 1
            self._changed.notify()

    def opened(self, req_id: str) -> None:
        with self._changed:
            self._req_id, self._served = req_id, 0

    def served(self, req_id: str | None) -> None:
        with self._changed:
            if req_id == self._req_id:
                self._served += 1

    def lost(self, req_id: str | None) -> None:
        with self._changed:
            if req_id == self._req_id and self._served:
                self._capacity = max(1, min(self._capacity, self._served))


def _field_names(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(str(f.get("name", "")) if isinstance(f, dict) else str(f) for f in raw)


def _count(raw: Any) -> int | None:
    try:
        return int(str(raw).strip())
    except ValueError:
        return None
