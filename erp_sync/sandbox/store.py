"""Current rows of CUSTOMER and ITEM: the seeded generator plus an overlay of updates, inserts and deletes.

Seeded keys are 1..count; inserts take count+1, count+2, ... so key order is insertion order and the key list of
an untouched table is a plain `range`. The overlay maps a key to its current row tuple, or to None once deleted.
A small index of codes in the overlay lets CODE lookups (setData's duplicate check, selectorFields, filters) skip
a table scan. Callers hold the sandbox lock around mutations.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any

from .data import RowGenerator
from .encoding import to_wire
from .schema import ObjectSpec

_MISSING: Any = object()
CODE_PREFIX = {"CUSTOMER": "C", "ITEM": "IT"}


class ObjectStore:
    """The rows of one object."""

    def __init__(self, generator: RowGenerator) -> None:
        self.spec: ObjectSpec = generator.spec
        self.generator = generator
        self._wire_generator: RowGenerator | None = None
        self.base_count = generator.count
        self.overlay: dict[int, tuple[str, ...] | None] = {}
        self.next_key = self.base_count + 1
        self._base_deleted = 0
        self._overlay_codes: dict[str, int] = {}
        self._prefix = CODE_PREFIX[self.spec.name]
        self._code = self.spec.index["CODE"]

    # -- reading -------------------------------------------------------------------------------------------
    def get(self, key: int) -> tuple[str, ...] | None:
        """The current row with this key, or None if there is none."""
        row = self.overlay.get(key, _MISSING)
        if row is not _MISSING:
            return row
        return self.generator.row(key) if 1 <= key <= self.base_count else None

    def as_dict(self, row: tuple[str, ...]) -> dict[str, str]:
        return {f.name: v for f, v in zip(self.spec.fields, row, strict=True)}

    def keys(self) -> Sequence[int]:
        """Every current key in order; a lazy range when nothing was inserted or deleted."""
        seeded = range(1, self.base_count + 1)
        if not self.overlay:
            return seeded
        inserted = [k for k in range(self.base_count + 1, self.next_key) if self.overlay.get(k) is not None]
        if self._base_deleted == 0 and not inserted:
            return seeded
        if self._base_deleted == 0:
            return _Chain(seeded, inserted)
        keys = array("q", (k for k in seeded if self.overlay.get(k, _MISSING) is not None))
        keys.extend(inserted)
        return keys

    def __len__(self) -> int:
        return len(self.keys())

    def rows(self, keys: Sequence[int]) -> list[tuple[str, ...]]:
        """Current rows for `keys`, skipping keys deleted since the list was taken."""
        return self._merge(self.generator, keys, None)

    def wire_rows(self, keys: Sequence[int]) -> list[tuple[str, ...]]:
        """Like `rows`, every value in encoding.to_wire form: the getBrowserData fast path for cp1253 bodies."""
        if self._wire_generator is None:
            self._wire_generator = self.generator.with_text(to_wire)
        return self._merge(self._wire_generator, keys, to_wire)

    def _merge(
        self, generator: RowGenerator, keys: Sequence[int], convert: Callable[[str], str] | None
    ) -> list[tuple[str, ...]]:
        overlay = self.overlay
        if not overlay:
            return generator.rows(keys)
        generated = iter(generator.rows([k for k in keys if k not in overlay]))
        out = []
        for key in keys:
            row = overlay.get(key, _MISSING)
            if row is _MISSING:
                out.append(next(generated))
            elif row is not None:
                out.append(row if convert is None else tuple(convert(v) for v in row))
        return out

    def value_getter(self, name: str) -> Callable[[int], str]:
        """A function from a live key to the current value of field `name`."""
        seeded, index, overlay = self.generator.getter(name), self.spec.index[name], self.overlay

        def value(key: int) -> str:
            row = overlay.get(key, _MISSING)
            if row is _MISSING:
                return seeded(key)
            return "" if row is None else row[index]

        return value

    def find_code(self, code: str) -> int | None:
        """The key of the live row whose CODE equals `code` (case-insensitive), without a scan."""
        wanted = code.strip().upper()
        key = self._overlay_codes.get(wanted)
        if key is not None and (row := self.overlay.get(key)) is not None and row[self._code].upper() == wanted:
            return key
        digits = wanted[len(self._prefix) :]
        if wanted.startswith(self._prefix) and digits.isdigit() and digits == str(int(digits)).zfill(6):
            key = int(digits)
            if 1 <= key <= self.base_count and key not in self.overlay:
                return key
        return None

    # -- writing -------------------------------------------------------------------------------------------
    def insert(self, values: dict[str, str], now_text: str) -> int:
        """Add a row; fields not given get defaults, INSDATE and UPDDATE default to now. Returns the new key."""
        key = self.next_key
        self.next_key += 1
        fields = {f.name: "" for f in self.spec.fields}
        fields.update({"COMPANY": self.generator.company, "SODTYPE": self.spec.sodtype, "ISACTIVE": "1"})
        fields.update(values)
        fields[self.spec.key] = str(key)
        fields["INSDATE"] = values.get("INSDATE", now_text)
        fields["UPDDATE"] = values.get("UPDDATE", now_text)
        if not fields["CODE"]:
            fields["CODE"] = self._prefix + str(key).zfill(6)
        self._put(key, tuple(fields[f.name] for f in self.spec.fields))
        return key

    def update(self, key: int, values: dict[str, str], now_text: str) -> None:
        """Change the given fields of a live row and bump UPDDATE (unless UPDDATE itself is given)."""
        current = self.get(key)
        if current is None:
            raise KeyError(key)
        fields = self.as_dict(current)
        fields.update(values)
        fields[self.spec.key] = str(key)
        fields["UPDDATE"] = values.get("UPDDATE", now_text)
        self._put(key, tuple(fields[f.name] for f in self.spec.fields))

    def delete(self, key: int) -> None:
        if self.get(key) is None:
            raise KeyError(key)
        if key <= self.base_count:
            self._base_deleted += 1
        self.overlay[key] = None

    def _put(self, key: int, row: tuple[str, ...]) -> None:
        self.overlay[key] = row
        self._overlay_codes[row[self._code].upper()] = key


class _Chain(Sequence[int]):
    """Seeded keys followed by inserted ones, without materializing the seeded range."""

    def __init__(self, head: range, tail: list[int]) -> None:
        self._head, self._tail = head, tail

    def __len__(self) -> int:
        return len(self._head) + len(self._tail)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, _ = index.indices(len(self))
            head = self._head[start:stop]
            tail = self._tail[max(0, start - len(self._head)) : max(0, stop - len(self._head))]
            return [*head, *tail] if tail else head
        if index < 0:
            index += len(self)
        return self._head[index] if index < len(self._head) else self._tail[index - len(self._head)]
