"""Field mappings: ERP strings in, typed local values out, and back.

`MappingPlan.compile` checks an integration's mappings and keys once per run. `plan.bind(page.fields)` resolves
the ERP field names of a page to positions and compiles one row function for them; `BoundMapping.map_rows` turns a
page into value tuples (in `plan.columns` order), keys, local keys and row hashes, and reports each row it could not
map as a `RowProblem` instead of failing the page. The same plan hashes local rows read back from the target table
(two-way sync) and formats local values as ERP strings. Per-row cost is the budget
(docs/performance.md#per-row-budget): the hot loop calls only functions compiled here, never a lookup by field name.

What one value becomes (ERP text to Python, the canonical forms of the row hash and of key texts, values read back
from a database, ERP text on the way back) is `values.py`'s; its docstring states the value rules and the hash.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from erp_sync.domain.values import (
    CANONICAL,
    KEY_PARSERS,
    KEY_PARTS,
    TYPES,
    Converter,
    LengthLimit,
    coercer,
    converter_for,
    describe,
    erp_text,
)
from erp_sync.errors import ValidationError

MAX_KEY_TEXT = 500  # erp_sync_bindings.local_key
# Part of every source hash: raise it when a change to this module or to values.py makes the same ERP text map to
# different values, so that rows skipped as unchanged by their source hash are mapped again once.
SOURCE_HASH_VERSION = 1


@dataclass(frozen=True)
class FieldMapping:
    """One ERP field copied into one local column."""

    source: str
    target: str
    type: str = "string"
    default: str | None = None


@dataclass(frozen=True)
class ColumnLimits:
    """What the target columns hold, so a value that does not fit is a row problem instead of a failed page and a
    value reads back as it was written: `lengths` maps a column to its maximum characters, `numerics` to
    (precision, scale), each possibly None; `padded` names fixed-width CHAR columns, whose trailing spaces are
    dropped on the way in and on the way back (the database pads them)."""

    lengths: Mapping[str, int] = field(default_factory=dict)
    numerics: Mapping[str, tuple[int | None, int | None]] = field(default_factory=dict)
    padded: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RowProblem:
    """A row left out of a page: its position, its ERP key where known, the local column at fault and why."""

    index: int
    erp_key: str | None
    field: str
    reason: str


@dataclass
class MappedRows:
    """One mapped page as parallel lists; `indexes` are the rows' positions in the page."""

    values: list[tuple[Any, ...]] = field(default_factory=list)
    keys: list[tuple[Any, ...]] = field(default_factory=list)
    key_texts: list[str] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    erp_keys: list[str] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    errors: list[RowProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.values)


def compile_tuple(parts: Sequence[tuple[int, Converter | None]]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A function `row -> (f0(row[i0]), row[i1], ...)`; `parts` gives per item the input position and the function
    to apply (None copies the value).

    It is generated as source made only of integer positions, integer lengths and generated names, then compiled:
    one call per row instead of one per value through map/zip (docs/performance.md#compiled-row-functions), and a
    `LengthLimit` is checked in line (its function is called only for what is not a short enough string).
    """
    namespace: dict[str, Any] = {}
    lines, items = [], []
    for number, (position, function) in enumerate(parts):
        position = operator.index(position)
        if function is None:
            items.append(f"r[{position}]")
            continue
        namespace[f"f{number}"] = function
        if isinstance(function, LengthLimit):
            value = f"v{number}"
            lines.append(f"    {value} = r[{position}]\n    if {value}.__class__ is not str or len({value}) > "
                         f"{operator.index(function.max_length)}:\n        {value} = f{number}({value})\n")
            items.append(value)
        else:
            items.append(f"f{number}(r[{position}])")
    if not items:
        return lambda _row: ()
    source = f"def build(r):\n{''.join(lines)}    return ({', '.join(items)},)\n"
    exec(source, namespace)  # noqa: S102 - source built above
    return namespace["build"]


class MappingPlan:
    """The compiled mappings and keys of one integration; build it with `MappingPlan.compile`."""

    def __init__(self, mappings: tuple[FieldMapping, ...], keys: tuple[str, ...], zone: ZoneInfo,
                 converters: tuple[Converter | None, ...], limits: ColumnLimits | None = None) -> None:
        self.mappings = mappings
        self.limits = limits or ColumnLimits()
        padded = self.limits.padded
        self.zone = zone
        self.columns = tuple(m.target for m in mappings)
        self.types = tuple(m.type for m in mappings)
        self.key_columns = keys
        self.key_indexes = tuple(self.columns.index(k) for k in keys)
        self.converters = converters
        self._coercers = tuple(coercer(t, c in padded) for c, t in zip(self.columns, self.types, strict=True))
        canonical = [(i, CANONICAL[t]) for i, t in enumerate(self.types)]
        self._canonical = compile_tuple(canonical) if any(f for _, f in canonical) else None
        # map_rows' own datetimes are already in UTC, so its rows skip that step
        mapped = [(i, None if t == "datetime" else f) for (i, f), t in zip(canonical, self.types, strict=True)]
        self._canonical_mapped = compile_tuple(mapped) if any(f for _, f in mapped) else None
        self._key_parts = tuple(KEY_PARTS[self.types[i]] for i in self.key_indexes)
        self._key_parsers = tuple(KEY_PARSERS[self.types[i]] for i in self.key_indexes)
        self._key_getter = compile_tuple([(i, None) for i in self.key_indexes])
        self._erp_names = tuple(field_part(m.source) for m in mappings)
        self._bound: dict[tuple[str, ...], BoundMapping] = {}

    @classmethod
    def compile(cls, mappings: Sequence[FieldMapping], keys: Sequence[str], server_timezone: str | ZoneInfo,
                *, limits: ColumnLimits | None = None) -> MappingPlan:
        """Check and compile; raises ValidationError INVALID_MAPPING (or UNKNOWN_TIMEZONE) naming the field."""
        zone, limits = _zone(server_timezone), limits or ColumnLimits()
        if not mappings:
            raise ValidationError("at least one mapping is needed", code="INVALID_MAPPING", field="mappings")
        seen: dict[str, int] = {}
        converters = []
        for i, mapping in enumerate(mappings):
            path = f"mappings[{i}]"
            if not mapping.source or not mapping.target:
                raise ValidationError("source and target are required", code="INVALID_MAPPING", field=path)
            if mapping.type not in TYPES:
                raise ValidationError(f"unknown type {mapping.type!r}; one of {', '.join(TYPES)}",
                                      code="INVALID_MAPPING", field=f"{path}.type")
            if (folded := mapping.target.casefold()) in seen:
                raise ValidationError(f"target {mapping.target!r} is mapped twice (also mappings[{seen[folded]}])",
                                      code="INVALID_MAPPING", field=f"{path}.target")
            seen[folded] = i
            converters.append(_compile_converter(mapping, zone, limits, f"{path}.default"))
        keys = tuple(keys)
        if not keys:
            raise ValidationError("at least one key column is needed", code="INVALID_MAPPING", field="keys")
        for j, key in enumerate(keys):
            if key not in [m.target for m in mappings]:
                raise ValidationError(f"key {key!r} is not a mapped target column", code="INVALID_MAPPING",
                                      field=f"keys[{j}]")
            if keys.index(key) != j:
                raise ValidationError(f"key {key!r} is listed twice", code="INVALID_MAPPING", field=f"keys[{j}]")
        return cls(tuple(mappings), keys, zone, tuple(converters), limits)

    @property
    def typed_columns(self) -> list[tuple[str, str]]:
        """(target column, mapping type) pairs in column order."""
        return list(zip(self.columns, self.types, strict=True))

    def bind(self, fields: tuple[str, ...]) -> BoundMapping:
        """The mapping resolved against a page's field names, cached per distinct `fields`."""
        bound = self._bound.get(fields)
        if bound is None:
            positions = [_resolve(m.source, fields, i) for i, m in enumerate(self.mappings)]
            bound = self._bound[fields] = BoundMapping(self, positions, fields)
        return bound

    def hash_values(self, values: Sequence[Any]) -> str:
        """The row hash of a value tuple in column order (see `values.py`)."""
        canonical = self._canonical(values) if self._canonical else values
        return hashlib.sha256(orjson.dumps(canonical)).hexdigest()

    def key_of(self, values: Sequence[Any]) -> tuple[Any, ...]:
        return self._key_getter(values)

    def key_text(self, key: Sequence[Any]) -> str:
        """The canonical text of a key (a binding's local_key): the value's text for one column, a JSON array for
        several. Raises ValueError for an empty key part or an over-long key."""
        parts = [part(value) for part, value in zip(self._key_parts, key, strict=True)]
        if any(p is None or p == "" for p in parts):
            raise ValueError(f"key {', '.join(self.key_columns)} is empty")
        text = str(parts[0]) if len(parts) == 1 else orjson.dumps(parts).decode()
        if len(text) > MAX_KEY_TEXT:
            raise ValueError(f"key longer than {MAX_KEY_TEXT} characters")
        return text

    def key_from_text(self, text: str) -> tuple[Any, ...]:
        """The key tuple a `key_text` was made from."""
        parts = [text] if len(self._key_parsers) == 1 else orjson.loads(text)
        return tuple(parse(part) for parse, part in zip(self._key_parsers, parts, strict=True))

    def local_values_from_row(self, row: Mapping[Any, Any]) -> tuple[Any, ...]:
        """The value tuple of a row read back from the target table, coerced to the types `map_rows` produces
        (naive datetimes are taken as UTC, which is how the upsert stores them where a zone cannot be kept)."""
        return tuple(coerce(row[column]) for coerce, column in zip(self._coercers, self.columns, strict=True))

    def to_erp(self, values: Mapping[str, Any]) -> dict[str, str]:
        """Local values as ERP strings keyed by ERP field name without the object prefix ("CUSTOMER.NAME" ->
        "NAME"); columns absent from `values` are left out."""
        result = {}
        for mapping, name, coerce in zip(self.mappings, self._erp_names, self._coercers, strict=True):
            if mapping.target in values:
                result[name] = erp_text(coerce(values[mapping.target]), self.zone)
        return result


class BoundMapping:
    """A plan resolved against one page layout; `map_rows` is the per-row hot path."""

    def __init__(self, plan: MappingPlan, positions: list[int], fields: tuple[str, ...]) -> None:
        self.plan = plan
        self.positions = tuple(positions)
        self._convert = compile_tuple(list(zip(positions, plan.converters, strict=True)))
        # a single string or integer key is its own key text (str() for an integer: no JSON, never too long)
        single_type = plan.types[plan.key_indexes[0]] if len(plan.key_indexes) == 1 else None
        self._plain_key, self._integer_key = single_type == "string", single_type == "integer"
        self._source_prefix = hashlib.sha256(orjson.dumps([
            SOURCE_HASH_VERSION, list(fields), [[m.source, m.target, m.type, m.default] for m in plan.mappings],
            list(plan.key_columns), plan.zone.key, sorted(plan.limits.lengths.items()),
            sorted(plan.limits.numerics.items()), sorted(plan.limits.padded)])).digest()  # 32 bytes, not the ~2 KB

    def source_hashes(self, rows: Sequence[Sequence[str]]) -> list[str]:
        """A hash per row of the ERP's own text together with this mapping (its fields, types, defaults, keys,
        server zone and column limits): equal source hashes map to equal values, so a row whose source hash is
        the one stored with its binding is unchanged without being mapped (docs/performance.md#source-hash-skip)."""
        prefix, sha256, dumps = self._source_prefix, hashlib.sha256, orjson.dumps
        return [sha256(prefix + dumps(row)).hexdigest() for row in rows]

    def map_rows(self, rows: Sequence[Sequence[Any]], record_ids: Sequence[str | None] | None = None) -> MappedRows:
        """Map one page. Unmappable rows go to `errors`; a key seen twice keeps the last row if both rows are the
        same ERP record, otherwise the later row is an error."""
        plan, plain_key, integer_key, key_text = self.plan, self._plain_key, self._integer_key, self.plan.key_text
        convert, canonical, key_getter = self._convert, plan._canonical_mapped, plan._key_getter
        sha256, dumps = hashlib.sha256, orjson.dumps
        out = MappedRows()
        at: dict[str, int] = {}  # key text -> position in out
        add_values, add_key, add_text = out.values.append, out.keys.append, out.key_texts.append
        add_hash, add_erp_key, add_index = out.hashes.append, out.erp_keys.append, out.indexes.append
        for index, (row, record_id) in enumerate(zip(rows, record_ids or repeat(None), strict=False)):
            try:
                values = convert(row)
                key = key_getter(values)
                if plain_key and key[0] and len(key[0]) <= MAX_KEY_TEXT:
                    text = key[0]
                elif integer_key and key[0] is not None:
                    text = str(key[0])
                else:
                    text = key_text(key)
                row_hash = sha256(dumps(canonical(values) if canonical else values)).hexdigest()
            except Exception as exc:
                out.errors.append(self._problem(index, row, record_id, exc))
                continue
            erp_key = record_id or text
            position = at.setdefault(text, len(at))
            if position == len(out.values):
                add_values(values)
                add_key(key)
                add_text(text)
                add_hash(row_hash)
                add_erp_key(erp_key)
                add_index(index)
            elif out.erp_keys[position] == erp_key:
                out.values[position], out.hashes[position], out.indexes[position] = values, row_hash, index
            else:
                out.errors.append(self._key_taken(index, erp_key, text, out.erp_keys[position]))
        return out

    def _key_taken(self, index: int, erp_key: str, text: str, holder: str) -> RowProblem:
        """A row whose key an earlier row of the page, another ERP record, already has."""
        return RowProblem(index, erp_key, ",".join(self.plan.key_columns),
                          f"key {text!r} is also used by ERP record {holder!r} on this page")

    def _problem(self, index: int, row: Sequence[Any], record_id: str | None, exc: Exception) -> RowProblem:
        """Why a row failed: the first value that does not convert, an empty key, or text no database stores;
        anything else is not the row's fault and is raised again."""
        plan = self.plan
        if len(row) <= max(self.positions):
            return RowProblem(index, record_id, "(row)", f"row has {len(row)} values, too few for the mapping")
        for mapping, position, converter in zip(plan.mappings, self.positions, plan.converters, strict=True):
            try:
                if converter is not None:
                    converter(row[position])
            except Exception as bad:  # any converter failure is this row's problem
                return RowProblem(index, record_id or self._key_guess(row), mapping.target,
                                  describe(bad, mapping.type, row[position]))
        try:
            text = plan.key_text(plan.key_of(self._convert(row)))
        except ValueError as bad:
            return RowProblem(index, record_id, ",".join(plan.key_columns), str(bad))
        if isinstance(exc, orjson.JSONEncodeError):
            return RowProblem(index, record_id or text, "(row)", f"text that cannot be stored: {exc}")
        raise exc

    def _key_guess(self, row: Sequence[Any]) -> str | None:
        plan = self.plan
        try:
            key = []
            for i in plan.key_indexes:
                converter, raw = plan.converters[i], row[self.positions[i]]
                key.append(converter(raw) if converter else raw)
            return plan.key_text(key)
        except Exception:  # the key itself is unreadable; the problem is reported without it
            return None


def _zone(server_timezone: str | ZoneInfo) -> ZoneInfo:
    if isinstance(server_timezone, ZoneInfo):
        return server_timezone
    try:
        return ZoneInfo(server_timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(f"unknown time zone {server_timezone!r}", code="UNKNOWN_TIMEZONE",
                              field="server_timezone") from None


def field_part(name: str) -> str:
    """The part of an ERP field reference after its last dot (`CUSTOMER.NAME` -> `NAME`); a bare name is itself."""
    return name.rsplit(".", 1)[-1]


def field_positions(name: str, fields: Sequence[str]) -> list[int]:
    """Where the ERP field `name` is among `fields`: the exact name, else the same name in another case, else the
    same part after the dot in any case; the first of these that finds anything decides. The one rule for matching
    a field by name (mappings, the cursor field, the pushed columns, conflicts)."""
    folded, tail = name.casefold(), field_part(name).casefold()
    rules: tuple[Callable[[str], bool], ...] = (
        lambda f: f == name,
        lambda f: f.casefold() == folded,
        lambda f: field_part(f).casefold() == tail,
    )
    for matches in rules:
        found = [position for position, field in enumerate(fields) if matches(field)]
        if found:
            return found
    return []


def same_field(a: str, b: str) -> bool:
    """Whether ERP field references `a` and `b` name one field (`field_positions`' rule)."""
    return bool(field_positions(a, (b,)))


def field_value(name: str, record: Mapping[str, Any]) -> Any:
    """The value of the ERP field `name` in a record keyed by field names (`field_positions`); None if it has none."""
    names = list(record)
    found = field_positions(name, names)
    return record[names[found[0]]] if found else None


def _resolve(source: str, fields: tuple[str, ...], i: int) -> int:
    """The page field a mapping reads (`field_positions`); the match must be unique."""
    found = field_positions(source, fields)
    if len(found) == 1:
        return found[0]
    if found:
        raise ValidationError(f"source field {source!r} matches several page fields: "
                              f"{', '.join(fields[p] for p in found)}", code="INVALID_MAPPING",
                              field=f"mappings[{i}].source", details={"available": list(fields)})
    raise ValidationError(f"source field {source!r} is not in the page; available: {', '.join(fields)}",
                          code="INVALID_MAPPING", field=f"mappings[{i}].source", details={"available": list(fields)})


def _compile_converter(mapping: FieldMapping, zone: ZoneInfo, limits: ColumnLimits, path: str) -> Converter | None:
    precision, scale = limits.numerics.get(mapping.target, (None, None))
    converter = converter_for(mapping.type, zone, max_length=limits.lengths.get(mapping.target),
                              padded=mapping.target in limits.padded, precision=precision, scale=scale)
    if mapping.default is None:
        return converter
    try:
        default = converter(mapping.default) if converter else mapping.default
    except Exception as bad:  # reported as a mapping error
        raise ValidationError(f"default {describe(bad, mapping.type, mapping.default)}",
                              code="INVALID_MAPPING", field=path) from None
    if mapping.type == "string":
        if not default:
            return converter
        return (lambda s: s or default) if converter is None else (lambda s: converter(s) or default)
    if default is None or converter is None:
        return converter

    def with_default(s: Any) -> Any:
        value = converter(s)
        return default if value is None else value

    return with_default
