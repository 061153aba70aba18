"""SqlData scripts and GetTable (docs/softone.md#sqldata-and-gettable), and the checked text they send.

SqlData runs a script an administrator stored in SoftOne; erp-sync only names it and fills its parameters. Which
parameters carry the window and the paging is declared in `Query.params` with these reserved keys (everything
else is passed to the script unchanged):

    sinceParam / untilParam   script parameters receiving the window bounds ("YYYY-MM-DD HH:MM:SS", server time)
    pageParam                 page-number parameter; pages count from `firstPage` (default "1")
    offsetParam               alternatively, a skip-rows parameter receiving the offset of the page
    sizeParam                 parameter receiving `Query.page_size`

Without pageParam/offsetParam the script is run once. Paging stops at an empty page, or at a short one when
sizeParam tells the script the page size. A source that
matches nothing yields no pages. A paged script that answers the same rows twice in a row
ignores its paging parameters and raises PagingLoopError.

GetTable sends a SQL WHERE fragment, so `FILTER` is assembled here only from validated parts: field names matching
`FIELD_NAME`, equality filters `FIELD=value&...` whose values hold no quote or operator characters, and the
window as quoted datetimes. Nothing a user typed reaches SoftOne as SQL.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from erp_sync.connectors.base import BadResponseError, Page, PagingLoopError, Query
from erp_sync.connectors.softone.browser import cell
from erp_sync.connectors.softone.session import SoftOneSession
from erp_sync.errors import ValidationError

log = logging.getLogger(__name__)

FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_SAFE_VALUE = re.compile(r"^[\w .:@+/-]*$")
_CONTROL_KEYS = frozenset({"sinceParam", "untilParam", "pageParam", "offsetParam", "sizeParam", "firstPage"})
_ENVELOPE_KEYS = frozenset({"service", "clientid", "appid", "sqlname"})
SERVER_TIME = "%Y-%m-%d %H:%M:%S"

Bounds = tuple[datetime, datetime]


def checked_field(name: str, what: str = "field") -> str:
    """`name` if it is a plain (optionally dotted) identifier; otherwise a ValidationError."""
    if not FIELD_NAME.match(name or ""):
        raise ValidationError(f"{what} {name!r} is not a plain field name", field=what)
    return name


def _records(body: Mapping[str, Any], key: str, number: int, service: str) -> list[Any]:
    raw = body.get(key)
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadResponseError(f"SoftOne {service} page {number}: {key} is not a list", page=number,
                               details={"service": service})
    return raw


def _digest(rows: Sequence[Sequence[str]]) -> str:
    return hashlib.sha256(orjson.dumps(list(rows))).hexdigest()


def _key_ids(fields: Sequence[str], rows: Sequence[Sequence[str]], key_field: str | None) -> list[str | None]:
    if key_field and key_field in fields:
        index = list(fields).index(key_field)
        return [row[index] or None for row in rows]
    return [None] * len(rows)


class SqlDataReader:
    """Pages of one SqlData script, following the `Query.params` conventions above."""

    def __init__(self, session: SoftOneSession, query: Query, bounds: Bounds | None) -> None:
        self._session = session
        self._query = query
        control = {k: v for k, v in query.params.items() if k in _CONTROL_KEYS}
        self._page_param = control.get("pageParam") or control.get("offsetParam")
        self._by_offset = "pageParam" not in control and "offsetParam" in control
        try:
            self._first_page = int(control.get("firstPage", "1"))
        except ValueError as exc:
            raise ValidationError("firstPage must be a whole number", field="params.firstPage") from exc
        self._sized = "sizeParam" in control
        self._params = self._script_params(control, bounds)

    def _script_params(self, control: Mapping[str, str], bounds: Bounds | None) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for name, value in self._query.params.items():
            if name in _CONTROL_KEYS:
                continue
            if name.lower() in _ENVELOPE_KEYS:
                raise ValidationError(f"script parameter {name!r} collides with the request envelope",
                                      field=f"params.{name}")
            params[checked_field(name, "params")] = value
        for key, name in control.items():
            if key != "firstPage":
                checked_field(name, "params")
        if bounds is not None:
            if "sinceParam" in control:
                params[control["sinceParam"]] = bounds[0].strftime(SERVER_TIME)
            if "untilParam" in control:
                params[control["untilParam"]] = bounds[1].strftime(SERVER_TIME)
            if "sinceParam" not in control:
                log.warning("SqlData %s has no sinceParam; the window is not applied", self._query.object)
        if "sizeParam" in control:
            params[control["sizeParam"]] = self._query.page_size
        return params

    def pages(self) -> Iterator[Page]:
        fields: tuple[str, ...] = tuple(self._query.fields)
        start, number, last = 0, 1, None
        while True:
            params = dict(self._params)
            if self._page_param:
                params[self._page_param] = start if self._by_offset else self._first_page + number - 1
            body = self._session.request("SqlData", {"SqlName": self._query.object, **params}, page=number)
            records = _records(body, "rows", number, "SqlData")
            if not fields and records and isinstance(records[0], dict):
                fields = tuple(str(k) for k in records[0])
            rows: list[Sequence[str]] = [self._positional(record, fields, number, index)
                                         for index, record in enumerate(records)]
            if not rows:
                return
            digest = _digest(rows)
            if digest == last:
                raise PagingLoopError(f"SqlData {self._query.object} returned the same rows for page {number} as "
                                      f"for page {number - 1}; the script ignores its paging parameters",
                                      page=number, details={"service": "SqlData"})
            last = digest
            log.info("SoftOne SqlData %s page %d: %d rows", self._query.object, number, len(rows))
            yield Page(number=number, start=start, fields=fields, rows=rows,
                       record_ids=_key_ids(fields, rows, self._query.key_field),
                       total=None if self._page_param else len(rows))
            if not self._page_param or (self._sized and len(rows) < self._query.page_size):
                return
            start += len(rows)
            number += 1

    def _positional(self, record: Any, fields: Sequence[str], number: int, index: int) -> tuple[str, ...]:
        if not isinstance(record, dict):
            raise BadResponseError(f"SqlData {self._query.object} page {number} row {index} is not an object",
                                   page=number, details={"service": "SqlData", "row": index})
        missing = [name for name in fields if name not in record]
        if missing:
            raise BadResponseError(f"SqlData {self._query.object} page {number} row {index} lacks {missing}",
                                   page=number, details={"service": "SqlData", "row": index})
        return tuple(cell(record[name]) for name in fields)


def table_filter(query: Query, bounds: Bounds | None) -> str:
    """The GetTable FILTER: equality filters and the window, each part checked; "1=1" when empty."""
    parts: list[str] = []
    for clause in filter(None, query.filters.split("&")):
        name, sep, value = clause.partition("=")
        if not sep or not _SAFE_VALUE.match(value):
            raise ValidationError(f"getTable filter {clause!r} must be FIELD=value without quotes or operators",
                                  field="filters")
        parts.append(f"{checked_field(name.strip(), 'filters')} = '{value}'")
    if bounds is not None and query.cursor_field:
        cursor = checked_field(query.cursor_field, "cursor_field")
        parts.append(f"{cursor} >= '{bounds[0].strftime(SERVER_TIME)}'")
        parts.append(f"{cursor} <= '{bounds[1].strftime(SERVER_TIME)}'")
    return " AND ".join(parts) or "1=1"


def read_table(session: SoftOneSession, query: Query, bounds: Bounds | None) -> Iterator[Page]:
    """One GetTable call as one page (none when nothing matches)."""
    if not query.fields:
        raise ValidationError("getTable needs the fields to read", field="fields")
    requested = ",".join(checked_field(name, "fields") for name in query.fields)
    body = session.request("GetTable", {"version": "1", "TABLE": checked_field(query.object, "object"),
                                        "FIELDS": requested, "FILTER": table_filter(query, bounds)}, page=1)
    model = body.get("model")
    declared = model[0] if isinstance(model, list) and model and isinstance(model[0], list) else None
    fields = tuple(cell(f.get("name")) if isinstance(f, dict) else cell(f) for f in declared) if declared \
        else tuple(query.fields)
    rows: list[Sequence[str]] = []
    for index, row in enumerate(_records(body, "data", 1, "GetTable")):
        if not isinstance(row, list) or len(row) != len(fields):
            raise BadResponseError(f"GetTable {query.object} page 1 row {index} does not match its {len(fields)} "
                                   f"fields", page=1, details={"service": "GetTable", "row": index})
        rows.append(tuple(cell(value) for value in row))
    log.info("SoftOne GetTable %s: %d rows", query.object, len(rows))
    if rows:
        yield Page(number=1, start=0, fields=fields, rows=rows,
                   record_ids=_key_ids(fields, rows, query.key_field), total=len(rows))
