"""Ids from the outside world: one rule for a path segment, a JSON body member and a query parameter.

An id is a whole number from 1 to `MAX_ID`. The id columns are SQLAlchemy `Integer`: 64-bit in SQLite but 32-bit
in PostgreSQL, so the range both databases hold is 1..2^31-1, and no number outside it ever reaches SQL. In a
body an id is a JSON integer (not a boolean, not a float such as 1.9 or 1e400) or a string of ASCII digits; in a
query or a path, ASCII digits (no sign, no `_`, no full-width or other Unicode digits, which `int()` would take).

An id outside the range in a *path* names nothing that can exist: 404 `NOT_FOUND` (field `id`), like an id that
was deleted. In a body or query it is an input mistake: 400 `VALIDATION_ERROR` naming the field.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter, Map

from erp_sync.errors import ErpSyncError, NotFoundError, ValidationError

MAX_ID = 2**31 - 1
_ASCII_DIGITS = re.compile(r"[0-9]+")
_LISTS = {"integration": "GET /api/integrations", "run": "GET /api/integrations/{id}/runs"}


def _in_range(digits: str) -> int | None:
    """The id that a string of ASCII digits spells, or None when it is outside 1..MAX_ID (checked on the text
    first, so a 5,000-digit string never reaches `int()`)."""
    significant = digits.lstrip("0")
    if not significant or len(significant) > len(str(MAX_ID)):
        return None
    value = int(significant)
    return value if value <= MAX_ID else None


def parse_id(raw: Any, field: str) -> int:
    """An id sent in a JSON body or a query string, or a VALIDATION_ERROR naming `field`."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        value: int | None = raw if 1 <= raw <= MAX_ID else None
    elif isinstance(raw, str) and _ASCII_DIGITS.fullmatch(raw):
        value = _in_range(raw)
    else:
        value = None
    if value is None:
        shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:37] + "..."
        raise ValidationError(f"{field} must be a whole number from 1 to {MAX_ID} (a JSON integer or a string of "
                              f"the digits 0-9), not {shown}", field=field)
    return value


class IdOutOfRange(NotFound):
    """A path id that no row can have; the error handlers answer it as its `error` (404 NOT_FOUND, field id)."""

    def __init__(self, error: ErpSyncError) -> None:
        super().__init__(error.message)
        self.error = error


class IdConverter(BaseConverter):
    """`<id(kind="integration"):integration_id>`: ASCII digits only; an id beyond the range is 404 for that kind."""

    regex = "[0-9]+"
    weight = 50

    def __init__(self, map: Map, kind: str = "integration") -> None:
        super().__init__(map)
        self.kind = kind

    def to_python(self, value: str) -> int:
        parsed = _in_range(value)
        if parsed is None:
            shown = value if len(value) <= 24 else value[:21] + "..."
            raise IdOutOfRange(NotFoundError(
                f"{self.kind} {shown} does not exist: ids run from 1 to {MAX_ID}; list what exists with "
                f"{_LISTS.get(self.kind, 'GET /api/integrations')}", field="id"))
        return parsed

    def to_url(self, value: Any) -> str:
        return str(int(value))
