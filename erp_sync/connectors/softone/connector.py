"""`SoftOneConnector`: the `ErpConnector` protocol spoken to one SoftOne installation.

Reads come from a browser (the default), a SqlData script or GetTable (see `queries` for their conventions);
the incremental window is widened by `window_overlap` and sent in the server's own local time. Writes are
`setData`: with KEY to update, without to insert. Inserts are not idempotent in SoftOne, so an insert with a
reference field is looked up by it before every attempt (docs/softone.md#writing-with-setdata): an earlier
attempt, or an earlier run that died before storing the new id, may have saved it already; a refusal by SoftOne's
business logic comes back as `PushResult(accepted=False)`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from erp_sync.clock import Clock, SystemClock
from erp_sync.connectors.base import (
    BadResponseError,
    ConnectionReport,
    ConnectorError,
    Page,
    PushRequest,
    PushResult,
    Query,
    SkippableConnectorError,
    Window,
)
from erp_sync.connectors.read_ahead import read_ahead
from erp_sync.connectors.softone.browser import BrowserPaginator, cell
from erp_sync.connectors.softone.client import is_transport_error, may_have_been_applied
from erp_sync.connectors.softone.config import SoftOneConfig
from erp_sync.connectors.softone.queries import SERVER_TIME, Bounds, SqlDataReader, checked_field, read_table
from erp_sync.connectors.softone.session import SessionPool, SoftOneSession
from erp_sync.errors import ValidationError

log = logging.getLogger(__name__)

_FILTER_META = re.compile(r"[&=*,|]")
_LOOKUP_CANDIDATES = 5
_FOUND = "erp_sync:found"  # marks an insert answered by a record found by its reference, not by setData


class SoftOneConnector:
    """One integration's view of a SoftOne installation; sessions are shared through the pool."""

    def __init__(self, config: SoftOneConfig, session_pool: SessionPool | None = None, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Clock | None = None) -> None:
        self._config = config
        self._own_pool = session_pool is None
        self._pool = session_pool if session_pool is not None else SessionPool(sleep=sleep)
        self._clock = clock or SystemClock()

    @property
    def session(self) -> SoftOneSession:
        return self._pool.session(self._config)

    def check(self) -> ConnectionReport:
        """Log in and list the objects the account may use."""
        body = self.session.call("getObjects")
        objects = [o for o in body.get("objects") or [] if isinstance(o, dict)]
        return ConnectionReport(ok=True, server_version=self.session.server_version,
                                company=self.session.company_name, objects=objects)

    def object_tables(self, object_name: str) -> list[dict[str, Any]]:
        """The tables of one object (name, dbname, caption)."""
        body = self.session.call("getObjectTables", OBJECT=object_name)
        return [t for t in body.get("tables") or [] if isinstance(t, dict)]

    def table_fields(self, object_name: str, table: str) -> list[dict[str, Any]]:
        """The fields of one table of an object (name, type, size, caption, ...)."""
        body = self.session.call("getTableFields", OBJECT=object_name, TABLE=table)
        return [f for f in body.get("fields") or [] if isinstance(f, dict)]

    def pages(self, query: Query, window: Window | None = None) -> Iterator[Page]:
        """Stream the source page by page; errors name the page they happened on."""
        bounds = self.window_bounds(window)
        if query.mode == "browser":
            return iter(BrowserPaginator(self.session, object_name=query.object, list_name=query.list,
                                         filters=self.browser_filters(query, bounds), page_size=query.page_size,
                                         key_field=query.key_field, ahead=query.requests_ahead))
        if query.mode == "sqlData":
            return read_ahead(SqlDataReader(self.session, query, bounds).pages())
        if query.mode == "getTable":
            return read_table(self.session, query, bounds)
        raise ValidationError(f"unknown source mode {query.mode!r}", field="mode")

    def window_bounds(self, window: Window | None) -> Bounds | None:
        """The window as server-local naive datetimes, widened by the overlap; None for a full read.

        Without `since` nothing is filtered on the cursor at all: an upper bound alone would drop records whose
        cursor is empty, and a full scan must see every record. Without `until` the upper bound is the server's
        now, because a browser range with only its lower bound set means equality
        (docs/softone.md#filters-and-the-window).
        """
        if window is None or window.since is None:
            return None
        since = self._server_local(window.since) - self._config.window_overlap
        until = self._server_local(window.until) if window.until else self._server_now()
        return since, until

    def browser_filters(self, query: Query, bounds: Bounds | None) -> str:
        """The browser's FILTERS: the query's own plus `<cursor>=<since>&<cursor>_TO=<until>`."""
        parts = [query.filters] if query.filters else []
        if bounds is not None and query.cursor_field:
            cursor = checked_field(query.cursor_field, "cursor_field")
            parts.append(f"{cursor}={bounds[0].strftime(SERVER_TIME)}&{cursor}_TO={bounds[1].strftime(SERVER_TIME)}")
        return "&".join(parts)

    def push(self, request: PushRequest) -> PushResult:
        """Insert or update one record; a business refusal comes back as accepted=False."""
        data = {request.table: [dict(request.values)]}
        try:
            if request.record_id:
                body = self.session.request("setData", {"OBJECT": request.object, "KEY": request.record_id,
                                                        "data": data})
            else:
                body = self._insert(request, data)
        except SkippableConnectorError as refused:
            log.info("SoftOne refused %s %s: %s", request.object, request.record_id or "(new)", refused.message)
            return PushResult(accepted=False, record_id=request.record_id, message=refused.message,
                              error_code=refused.code)
        record_id = cell(body.get("id")) or request.record_id
        if not record_id:
            raise BadResponseError(f"SoftOne setData on {request.object} succeeded without an id",
                                   details={"service": "setData"})
        message = body.get("message")
        return PushResult(accepted=True, record_id=record_id, message=str(message) if message else None,
                          existing=bool(body.get(_FOUND)))

    def close(self) -> None:
        if self._own_pool:
            self._pool.close()

    def _insert(self, request: PushRequest, data: dict[str, Any]) -> dict[str, Any]:
        """setData without KEY, looked up by the reference first when there is one: an insert of this row may
        have been saved already, by an earlier attempt of this push or by a run that died before it could store
        the new id. A record found before the first attempt is updated with `data` instead (an update can be
        repeated safely); one found after an attempt of this push is the record that attempt made."""
        reference = _checked_reference(request.reference)
        attempts = 0
        found: str | None = None

        def retry_safe(exc: BaseException) -> bool:
            if not isinstance(exc, ConnectorError) or not is_transport_error(exc):
                return False
            return reference is not None or not may_have_been_applied(exc)

        def attempt() -> dict[str, Any]:
            nonlocal attempts, found
            attempts += 1
            if found is None and reference is not None:
                found = self._find_by_reference(request.object, request.table, reference)
                if found is not None and attempts > 1:
                    log.warning("SoftOne %s insert had already been saved as %s (found by %s)", request.object,
                                found, reference[0])
                    return {"id": found, "message": f"already saved; found by {reference[0]}", _FOUND: True}
                if found is not None:
                    log.warning("SoftOne %s record %s already carries this row's %s (saved by an earlier run that "
                                "could not store its id): updating it instead of inserting a second one",
                                request.object, found, reference[0])
            if found is not None:
                body = self.session.request("setData", {"OBJECT": request.object, "KEY": found, "data": data},
                                            retry=False)
                return {**body, "id": cell(body.get("id")) or found, _FOUND: True}
            return self.session.request("setData", {"OBJECT": request.object, "data": data}, retry=False)

        return self.session.client.retrying(retry_safe)(attempt)

    def _find_by_reference(self, object_name: str, table: str, reference: tuple[str, str]) -> str | None:
        """The key of the record whose reference field holds the value, verified, or None."""
        field, value = reference
        qualified = field if "." in field else f"{table}.{field}"
        paginator = BrowserPaginator(self.session, object_name=object_name, filters=f"{qualified}={value}",
                                     page_size=_LOOKUP_CANDIDATES)
        first = next(iter(paginator), None)
        if first is None:
            return None
        column = first.fields.index(qualified) if qualified in first.fields else None
        for row, record_id in zip(first.rows, first.record_ids, strict=True):
            if record_id and (row[column] == value if column is not None
                              else self._reference_of(object_name, qualified, record_id) == value):
                return record_id
        return None

    def _reference_of(self, object_name: str, qualified: str, record_id: str) -> str | None:
        table, _, field = qualified.partition(".")
        try:
            body = self.session.call("getData", OBJECT=object_name, FORM="", KEY=record_id,
                                     LOCATEINFO=f"{table}:{field}")
        except ConnectorError as exc:
            if exc.retriable:
                raise
            return None
        rows = (body.get("data") or {}).get(table) or []
        return cell(rows[0].get(field)) if rows and isinstance(rows[0], dict) else None

    def _server_local(self, moment: datetime) -> datetime:
        if moment.tzinfo is None:
            return moment
        return moment.astimezone(self._config.zone).replace(tzinfo=None)

    def _server_now(self) -> datetime:
        return self._clock.now().astimezone(self._config.zone).replace(tzinfo=None, microsecond=0)


def _checked_reference(reference: tuple[str, str] | None) -> tuple[str, str] | None:
    if reference is None:
        return None
    field, value = reference
    checked_field(field, "reference")
    if not value or _FILTER_META.search(value):
        raise ValidationError("a push reference value must be non-empty and free of & = * , |", field="reference")
    return field, value
