"""Browser FILTERS: parse `OBJECT.FIELD=value&OBJECT.FIELD_TO=value` and pick the matching keys.

Semantics (docs/softone.md#filters-and-the-window, with the sandbox's choices where SoftOne's documentation is vague):
- `F=v` alone is equality; `*` is a wildcard; `a,b,c` lists alternatives. Text compares case-insensitively (SQL
  Server's default collation); numbers compare numerically; a date-only value on a date field matches that day.
- `F=a&F_TO=b` is the inclusive range a <= value <= b; either bound may be alone. A date-only upper bound covers
  the whole day. Empty dates ("") never match a date condition, like SQL NULL.
- Empty values are ignored, as SoftOne's filter dialog ignores empty fields. Unknown fields are a -9 error.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from .protocol import invalid
from .schema import FieldSpec, ObjectSpec
from .store import ObjectStore

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass
class Condition:
    """What one browser field must satisfy."""

    field: FieldSpec
    values: list[str] = dataclass_field(default_factory=list)
    low: str | None = None
    high: str | None = None


def normalize_datetime(text: str, *, upper: bool = False) -> str:
    """'YYYY-MM-DD[ HH:MM[:SS]]' as a full 'YYYY-MM-DD HH:MM:SS'; missing parts filled up to the day's start or end."""
    match = _DATE.match(text.strip())
    if not match:
        raise invalid(f"not a date: {text!r}, expected YYYY-MM-DD or YYYY-MM-DD HH:MM:SS")
    day, hour, minute, second = match.groups()
    if hour is None:
        return f"{day} 23:59:59" if upper else f"{day} 00:00:00"
    return f"{day} {hour}:{minute}:{second or ('59' if upper else '00')}"


def parse_filters(text: str, spec: ObjectSpec) -> list[Condition]:
    """The conditions in a FILTERS string."""
    conditions: dict[str, Condition] = {}
    for part in (text or "").split("&"):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise invalid(f"filter {part!r} has no '='")
        name, value = name.strip().upper(), value.strip()
        if name.startswith(spec.name + "."):
            name = name[len(spec.name) + 1 :]
        upper = name.endswith("_TO") and spec.field(name) is None
        spec_field = spec.field(name[:-3] if upper else name)
        if spec_field is None:
            raise invalid(f"the {spec.name} browser has no filter {part.partition('=')[0].strip()!r}")
        if not value:
            continue
        condition = conditions.setdefault(spec_field.name, Condition(spec_field))
        if upper:
            condition.high = value
        else:
            condition.values = [v.strip() for v in value.split(",") if v.strip()]
    for condition in conditions.values():
        if condition.high is not None and condition.values:
            condition.low, condition.values = ",".join(condition.values), []
    return list(conditions.values())


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _range_test(condition: Condition) -> Callable[[str], bool]:
    spec_field, low, high = condition.field, condition.low, condition.high
    if spec_field.is_date:
        lo = normalize_datetime(low) if low else ""
        hi = normalize_datetime(high, upper=True) if high else "9999"
        return lambda v: v != "" and lo <= v <= hi
    if spec_field.is_number:
        lo_n, hi_n = _number(low or "-inf"), _number(high or "inf")
        if lo_n is None or hi_n is None:
            raise invalid(f"{spec_field.name} range bounds must be numbers")
        return lambda v: (n := _number(v)) is not None and lo_n <= n <= hi_n
    lo_t, hi_t = (low or "").casefold(), (high or "").casefold()
    return lambda v: lo_t <= v.casefold() and (not high or v.casefold() <= hi_t)


def _value_test(spec_field: FieldSpec, wanted: str) -> Callable[[str], bool]:
    if "*" in wanted:
        pattern = re.compile(".*".join(re.escape(p) for p in wanted.split("*")), re.IGNORECASE | re.DOTALL)
        return lambda v: pattern.fullmatch(v) is not None
    if spec_field.is_date:
        if len(wanted) == 10:
            return lambda v: v[:10] == wanted
        exact = normalize_datetime(wanted)
        return lambda v: v == exact
    if spec_field.is_number and (number := _number(wanted)) is not None:
        return lambda v: _number(v) == number
    folded = wanted.casefold()
    return lambda v: v.casefold() == folded


def condition_test(condition: Condition) -> Callable[[str], bool]:
    """A predicate on one field value."""
    if condition.low is not None or condition.high is not None:
        return _range_test(condition)
    tests = [_value_test(condition.field, v) for v in condition.values]
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(t(v) for t in tests)


def _candidates(store: ObjectStore, conditions: list[Condition]) -> Sequence[int] | None:
    """Keys pinned down by an exact key or CODE condition, so a lookup need not scan the table."""
    for condition in conditions:
        plain = condition.values and condition.low is None and condition.high is None
        if not plain or any("*" in v for v in condition.values):
            continue
        if condition.field.name == store.spec.key:
            keys = {int(v) for v in condition.values if v.isdigit()}
            return sorted(k for k in keys if store.get(k) is not None)
        if condition.field.name == "CODE":
            found = {store.find_code(v) for v in condition.values}
            return sorted(k for k in found if k is not None)
    return None


def select_keys(store: ObjectStore, conditions: list[Condition]) -> Sequence[int]:
    """The live keys, in key order, whose rows satisfy every condition."""
    if not conditions:
        return store.keys()
    pinned = _candidates(store, conditions)
    keys = store.keys() if pinned is None else pinned
    checks = [(store.value_getter(c.field.name), condition_test(c)) for c in conditions]
    out = array("q")
    if len(checks) == 1:
        getter, test = checks[0]
        out.extend(k for k in keys if test(getter(k)))
    else:
        out.extend(k for k in keys if all(test(getter(k)) for getter, test in checks))
    return out
