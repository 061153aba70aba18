"""Paging through a SOAP read operation (NAV's ReadMultiple, or a generic profile's read).

`Paginator` owns the next-page state: the bookmark (the last record's key, NAV's `Key`) or the offset. It asks
for `pageSize` records at a time and stops at an empty answer (a short page does not end a read: NAV caps a
page at its own MaxPageSize). It refuses to loop: a bookmark that comes back twice is a PagingLoopError naming
the page. Filters are the query's criteria plus the incremental window as a `"<from>.."` criteria on the cursor
field; a cursor that is a date without a time is widened by a day, so the overlap covers what changed on the
watermark's day.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from zeep.xsd import ComplexType

from erp_sync.connectors.base import Page, PagingLoopError, Query
from erp_sync.connectors.soap.client import SoapClient
from erp_sync.connectors.soap.records import base_type, field_names, records_at, rows_in_xml, rows_of
from erp_sync.errors import ValidationError

log = logging.getLogger(__name__)


def window_criteria(record_type: ComplexType, cursor: str, since: datetime) -> str:
    """`"<from>.."` for the cursor element, a day earlier when it holds dates without a time."""
    kind = base_type(record_type, cursor)
    if kind == "date":
        return f"{(since - timedelta(days=1)).date().isoformat()}.."
    return f"{since.replace(microsecond=0).isoformat()}.."


class Paginator:
    """Streams one read as `Page`s; single use."""

    def __init__(self, client: SoapClient, query: Query, since: datetime | None) -> None:
        self._client = client
        self._profile = client.config.profile
        self._query = query
        self._type = client.record_type(query.object)
        self._fields = field_names(self._type)
        namespace = self._type.qname.namespace if self._type.qname is not None else ""
        self._record_tag = f"{{{namespace}}}{query.object}" if namespace else query.object
        self._filters = self._criteria(since)

    def _criteria(self, since: datetime | None) -> list[dict[str, str]]:
        criteria = list(self._query.criteria)
        for name, _ in criteria:
            if name not in self._fields:
                raise ValidationError(f"source.filters: {name!r} is not an element of {self._query.object}; it has "
                                      f"{', '.join(self._fields)}", field="source.filters")
        cursor = self._query.cursor_field
        if since is not None and cursor:
            if cursor not in self._fields:
                raise ValidationError(f"source.cursorField {cursor!r} is not an element of {self._query.object}",
                                      field="source.cursorField")
            criteria.append((cursor, window_criteria(self._type, cursor, since)))
        if not criteria:  # NAV's filter[] has minOccurs 1: an empty criteria filters nothing
            criteria.append((self._profile.key_element, ""))
        return [{"Field": name, "Criteria": text} for name, text in criteria]

    def _params(self, bookmark: str | None, offset: int) -> dict[str, Any]:
        profile = self._profile
        params: dict[str, Any] = {}
        if profile.filter_parameter:
            params[profile.filter_parameter] = self._filters
        if profile.page_size_parameter:
            params[profile.page_size_parameter] = self._query.page_size
        if profile.bookmark_parameter:
            params[profile.bookmark_parameter] = bookmark
        elif profile.offset_parameter:
            params[profile.offset_parameter] = offset
        return params

    def __iter__(self) -> Iterator[Page]:
        profile = self._profile
        bookmark: str | None = None
        seen: set[str] = set()
        start, number = 0, 1
        key_at = self._fields.index(profile.key_element) if profile.key_element in self._fields else None
        version_at = (self._fields.index(profile.record_key_element)
                      if profile.record_key_element in self._fields else None)
        while True:
            rows = self._read(self._params(bookmark, start), number)
            if not rows:
                return
            page = Page(number=number, start=start, fields=self._fields, rows=list(rows),
                        record_ids=[row[key_at] or None for row in rows] if key_at is not None else [None] * len(rows),
                        versions=[row[version_at] or None for row in rows] if version_at is not None else None)
            log.info("SOAP %s page %d: %d records from %d", self._query.object, number, len(rows), start)
            yield page
            if not profile.bookmark_parameter and not profile.offset_parameter:
                return  # a read without paging answers everything at once
            bookmark = self._next_bookmark(rows, version_at, key_at, number, seen)
            start += len(rows)
            number += 1

    def _read(self, params: dict[str, Any], number: int) -> list[tuple[str, ...]]:
        """A page's rows: from the parsed XML for a NAV page service, else through zeep's objects."""
        profile = self._profile
        if self._client.config.profile_name == "nav_page":
            body = self._client.call_raw(profile.read_operation, params, page=number)
            return rows_in_xml(body, self._record_tag, self._fields)
        answer = self._client.call(profile.read_operation, params, page=number)
        return rows_of(records_at(answer, profile.record_path), self._fields)

    def _next_bookmark(self, rows: list[tuple[str, ...]], version_at: int | None, key_at: int | None,
                       number: int, seen: set[str]) -> str | None:
        at = version_at if version_at is not None else key_at
        if at is None or not self._profile.bookmark_parameter:
            return None
        bookmark = rows[-1][at]
        if bookmark in seen:
            raise PagingLoopError(f"SOAP {self._profile.read_operation} on {self._query.object} returned page "
                                  f"{number} ending at a record it had ended an earlier page with; the service "
                                  "ignores the bookmark", page=number,
                                  details={"service": self._profile.read_operation})
        seen.add(bookmark)
        return bookmark
