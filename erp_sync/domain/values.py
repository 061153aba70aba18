"""ERP values: text to Python and back, their canonical forms, and values read back from a database.

This module owns what one value becomes; `mapping.py` composes these functions into a plan. Everything here is
pure (no I/O, no framework) and per-value cheap, because it runs in the per-row hot path
(docs/performance.md#per-row-budget).

Values (docs/softone.md#values-and-dates): ERP values are strings; "" means no value: None for every type except
string, which keeps "" as it is. A mapping's `default` (a string, converted like a value) replaces None, and for
strings also "".
Decimals take "399.95", or "399,95" when the comma cannot be a thousands separator. Dates and datetimes are
server-local without a zone; "" and Delphi's zero date 1899-12-30 mean None. A server-local datetime becomes an aware
UTC datetime through zoneinfo: an ambiguous wall time (the repeated hour when DST ends) is taken as its first
occurrence (fold=0, still summer time); a wall time inside the spring-forward gap gets the offset in force before
the gap, so 03:30 in a 03:00->04:00 gap lands on 04:30 local.

Row hash: SHA-256 hex of the UTF-8 JSON array (compact, as `orjson.dumps` writes it) of the canonical values in
column order: strings as they are, None as null (so None and "" differ), integers as numbers, decimals as the
normalized Decimal in plain notation ("399.95", "100", "0"), booleans as 1/0, dates as "YYYY-MM-DD", datetimes in
UTC as "YYYY-MM-DDTHH:MM:SS[.ffffff]+00:00". `CANONICAL` gives the per-type step to that form, `KEY_PARTS` and
`KEY_PARSERS` the parts of a key's text and the way back, `coercer` the step from a value a database returns to
the value `map_rows` would have produced, and `erp_text` the string the ERP is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

TYPES = ("string", "integer", "decimal", "boolean", "date", "datetime")
_SENTINELS = frozenset({"1899-12-30", "1899-12-30 00:00:00", "1899-12-30T00:00:00", "1899-12-30 00:00:00.000"})
_BOOLEANS = {"1": True, "0": False, "true": True, "false": False}
_INT64 = 1 << 63
_date_fromiso, _datetime_fromiso = date.fromisoformat, datetime.fromisoformat
Converter = Callable[[Any], Any]


# --- converters: ERP text -> Python. The fast path assumes well-formed strings; the lenient path explains. ---

class BadValue(ValueError):
    """A refused value, with the reason a person reads."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(exc: Exception, type_: str, value: Any) -> str:
    """Why `value` is not a `type_`, as a person reads it."""
    return str(exc) if isinstance(exc, BadValue) else f"{type_} expected, got {_show(value)}"


def converter_for(type_: str, zone: ZoneInfo, *, max_length: int | None = None, padded: bool = False,
                  precision: int | None = None, scale: int | None = None) -> Converter | None:
    """The ERP text -> Python function of a mapping type (None: strings pass as they are); raises BadValue."""
    if type_ == "string":
        return _string_converter(max_length, padded)
    if type_ == "decimal":
        return _decimal_converter(precision, scale)
    if type_ == "datetime":
        return _datetime_converter(zone)
    return {"integer": _to_integer, "boolean": _to_boolean, "date": _to_date}[type_]


def _to_integer(s: Any) -> int | None:
    if not s:
        return None
    try:
        value = int(s)
    except ValueError:
        text = str(s).strip()
        if not text:
            return None
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise BadValue(f"integer expected, got {_show(s)}") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise BadValue(f"integer expected, got {_show(s)}") from None
        value = int(number)
    if -_INT64 <= value < _INT64:
        return value
    raise BadValue(f"integer out of the 64-bit range, got {_show(s)}")


def _lenient_decimal(s: Any) -> Decimal | None:
    text = str(s).strip()
    if not text:
        return None
    whole, comma, fraction = text.partition(",")
    if comma and "." not in text and "," not in fraction and fraction.isdigit():
        if len(fraction) == 3:
            raise BadValue(f"decimal expected, got {_show(s)}: is the comma a decimal or a thousands separator?")
        try:
            return Decimal(f"{whole}.{fraction}")
        except InvalidOperation:
            pass
    raise BadValue(f"decimal expected, got {_show(s)}")


def _decimal_converter(precision: int | None, scale: int | None) -> Converter:
    quantum = Decimal(1).scaleb(-scale) if scale is not None else None
    bound = Decimal(10) ** (precision - (scale or 0)) if precision is not None else None

    def to_decimal(s: Any) -> Decimal | None:
        if not s:
            return None
        try:
            value = Decimal(s)
        except InvalidOperation:
            lenient = _lenient_decimal(s)
            if lenient is None:
                return None
            value = lenient
        if not value.is_finite():
            raise BadValue(f"decimal expected, got {_show(s)}")
        try:
            if quantum is not None:
                value = value.quantize(quantum, ROUND_HALF_UP)
            if bound is not None and abs(value) >= bound:
                raise InvalidOperation
        except InvalidOperation:
            raise BadValue(f"decimal out of range for numeric({precision}, {scale}), got {_show(s)}") from None
        return value

    return to_decimal


def _to_boolean(s: Any) -> bool | None:
    if not s:
        return None
    value = _BOOLEANS.get(s)
    if value is None:
        text = str(s).strip().lower()
        if not text:
            return None
        value = _BOOLEANS.get(text)
        if value is None:
            raise BadValue(f"boolean expected (1/0, true/false), got {_show(s)}")
    return value


def _to_date(s: Any) -> date | None:
    if not s or s in _SENTINELS:
        return None
    try:
        return _date_fromiso(s) if len(s) == 10 else _datetime_fromiso(s).date()
    except (ValueError, TypeError):
        text = str(s).strip()
        if not text or text in _SENTINELS:
            return None
        try:
            return _date_fromiso(text) if len(text) == 10 else _datetime_fromiso(text).date()
        except ValueError:
            raise BadValue(f"date expected (YYYY-MM-DD), got {_show(s)}") from None


def _datetime_converter(zone: ZoneInfo) -> Converter:
    utcoffset = zone.utcoffset

    def to_datetime(s: Any) -> datetime | None:
        if not s or s in _SENTINELS:
            return None
        try:
            if len(s) != 19:
                raise ValueError
            wall = _datetime_fromiso(s + "+00:00")
        except (ValueError, TypeError):
            return _lenient_datetime(s, zone)
        # ZoneInfo.utcoffset reads only the wall-clock fields and fold (0) of its argument.
        return wall - utcoffset(wall)  # type: ignore[operator]  # a ZoneInfo always has an offset

    return to_datetime


def _lenient_datetime(s: Any, zone: ZoneInfo) -> datetime | None:
    text = str(s).strip()
    if not text or text in _SENTINELS:
        return None
    try:
        parsed = _datetime_fromiso(text)
    except ValueError:
        raise BadValue(f"datetime expected (YYYY-MM-DD HH:MM:SS), got {_show(s)}") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)


class LengthLimit:
    """The string converter of a column that only limits the length: `compile_tuple` inlines its check."""

    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def __call__(self, s: Any) -> Any:
        if s is not None and len(s) > self.max_length:
            raise BadValue(f"at most {self.max_length} characters expected, got {len(s)}")
        return s


def _string_converter(max_length: int | None, padded: bool) -> Converter | None:
    limit = LengthLimit(max_length) if max_length is not None else None
    if not padded:
        return limit

    def to_string(s: Any) -> Any:
        if s:
            s = s.rstrip(" ")
        return limit(s) if limit is not None else s

    return to_string


# --- canonical forms (hash, key text) ---

def _as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _canonical_decimal(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    if "." in text and "E" not in text:  # the common case, cheaper than normalize()
        return text.rstrip("0").rstrip(".") if value else "0"
    return format(value.normalize(), "f") if value else "0"


def _canonical_boolean(value: bool | None) -> int | None:
    return None if value is None else (1 if value else 0)


def _canonical_datetime(value: datetime | None) -> datetime | None:
    return value if value is None or value.tzinfo is UTC else _as_utc(value)


CANONICAL: dict[str, Converter | None] = {
    "string": None, "integer": None, "date": None,
    "decimal": _canonical_decimal, "boolean": _canonical_boolean, "datetime": _canonical_datetime,
}
KEY_PARTS: dict[str, Converter] = {
    "string": lambda v: v, "integer": lambda v: v, "decimal": _canonical_decimal, "boolean": _canonical_boolean,
    "date": lambda v: None if v is None else v.isoformat(),
    "datetime": lambda v: None if v is None else _as_utc(v).isoformat(),
}
KEY_PARSERS: dict[str, Converter] = {
    "string": str, "integer": int, "decimal": lambda t: Decimal(str(t)), "boolean": lambda t: str(t) == "1",
    "date": _date_fromiso, "datetime": _datetime_fromiso,
}


# --- read-back coercion and ERP text ---

_plain_decimal = _decimal_converter(None, None)


def _coerce_integer(v: Any) -> int | None:
    return v if v is None or type(v) is int else _to_integer(v) if isinstance(v, str) else int(v)


def _coerce_decimal(v: Any) -> Decimal | None:
    if v is None or isinstance(v, Decimal):
        return v
    if isinstance(v, str):
        return _plain_decimal(v)
    return Decimal(repr(v)) if isinstance(v, float) else Decimal(v)


def _coerce_date(v: Any) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    return _to_date(v) if isinstance(v, str) else v


def _coerce_datetime(v: Any) -> datetime | None:
    if isinstance(v, str):
        v = _datetime_fromiso(v.strip()) if v.strip() else None
    return None if v is None else _as_utc(v)


def _coerce_padded(v: Any) -> str | None:
    return v.rstrip(" ") if isinstance(v, str) else _COERCERS["string"](v)


_COERCERS: dict[str, Converter] = {
    "string": lambda v: v if v is None or isinstance(v, str) else str(v),
    "integer": _coerce_integer,
    "decimal": _coerce_decimal,
    "boolean": lambda v: _to_boolean(v) if isinstance(v, str) else (None if v is None else bool(v)),
    "date": _coerce_date,
    "datetime": _coerce_datetime,
}


def coercer(type_: str, padded: bool = False) -> Converter:
    """Database value -> the value `map_rows` produces for `type_` (naive datetimes are taken as UTC); `padded`:
    a fixed-width CHAR column, whose trailing spaces are dropped."""
    return _coerce_padded if padded and type_ == "string" else _COERCERS[type_]


def erp_text(value: Any, zone: ZoneInfo) -> str:
    """A local value as the ERP string for it, datetimes in server-local time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None).isoformat(" ", "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return _canonical_decimal(value) or "0"
    return str(value)
