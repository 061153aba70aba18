"""The current records of one page: seeded rows, an overlay of changes, and NAV's `Key` for each record.

Seeded records are numbered 1..count and their `No` sorts in that order, so an untouched page needs no key list
at all. Inserts and deletes go to the overlay; the sorted list of every `No` is then built once and kept until
the next insert or delete. Each record has a version; its `Key` (what NAV hands out and demands back on Update
and Delete) is `<length>;<No in base64>;<version>;`, so a stale Key still says which record it was (ReadMultiple
uses it as a bookmark) while Update can tell it is stale. Callers hold the sandbox lock.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Iterator, Sequence
from typing import overload

from .pages import GENERATORS, PageSpec, Row

_MISSING: object = object()


def make_key(number: str, version: int) -> str:
    encoded = base64.b64encode(number.encode("utf-8")).decode("ascii")
    return f"{len(encoded)};{encoded};{version};"


def key_parts(key: str) -> tuple[str, int] | None:
    """(No, version) of a Key, or None when it is not one this sandbox made."""
    parts = key.split(";")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    try:
        return base64.b64decode(parts[1], validate=True).decode("utf-8"), int(parts[2])
    except (binascii.Error, UnicodeDecodeError):
        return None


class PageStore:
    """The records of one page, in `No` order."""

    def __init__(self, spec: PageSpec, seed: int, count: int) -> None:
        self.spec = spec
        self.count = count
        self._generate = GENERATORS[spec.name](seed, count)
        self.overlay: dict[str, Row | None] = {}
        self.versions: dict[str, int] = {}
        self._sorted: list[str] | None = None
        self._changed_set = False  # an insert or delete happened: order comes from the sorted list
        self.next_number = count + 1

    # -- reading ---------------------------------------------------------------------------------------------
    def _seeded_position(self, number: str) -> int | None:
        digits = number[len(self.spec.prefix):]
        if number.startswith(self.spec.prefix) and len(digits) == 6 and digits.isdigit():
            position = int(digits)
            if 1 <= position <= self.count:
                return position
        return None

    def get(self, number: str) -> Row | None:
        row = self.overlay.get(number, _MISSING)
        if row is not _MISSING:
            return row  # type: ignore[return-value]
        position = self._seeded_position(number)
        return self._generate([position])[0] if position is not None else None

    def key_of(self, number: str) -> str:
        return make_key(number, self.versions.get(number, 1))

    def numbers(self) -> Sequence[str]:
        """Every live `No` in order."""
        if not self._changed_set:
            return _Numbers(self.spec, self.count)
        if self._sorted is None:
            seeded = (self.spec.number(p) for p in range(1, self.count + 1))
            live = [n for n in seeded if self.overlay.get(n, _MISSING) is not None]
            live.extend(n for n, row in self.overlay.items() if row is not None and self._seeded_position(n) is None)
            live.sort()
            self._sorted = live
        return self._sorted

    def position_after(self, number: str | None) -> int:
        """Index in `numbers()` of the first record after `number` (0 for None)."""
        return 0 if number is None else bisect.bisect_right(self.numbers(), number)

    def rows(self, numbers: Sequence[str]) -> list[Row]:
        """The rows of live records, in the given order."""
        overlay = self.overlay
        fresh = [n for n in numbers if n not in overlay]
        positions = [self._seeded_position(n) for n in fresh]
        generated = iter(self._generate([p for p in positions if p is not None]))
        out: list[Row] = []
        for number in numbers:
            row = overlay.get(number, _MISSING)
            if row is _MISSING:
                out.append(next(generated))
            elif row is not None:
                out.append(row)  # type: ignore[arg-type]
        return out

    def __len__(self) -> int:
        return len(self.numbers())

    def iter_from(self, start: int, batch: int = 500) -> Iterator[tuple[str, Row]]:
        """(No, row) of every live record from index `start` on, in order."""
        numbers = self.numbers()
        for offset in range(start, len(numbers), batch):
            chunk = list(numbers[offset:offset + batch])
            yield from zip(chunk, self.rows(chunk), strict=True)

    # -- writing ---------------------------------------------------------------------------------------------
    def put(self, number: str, row: Row) -> str:
        """Store a record (new or changed); returns its new Key."""
        is_new = self.get(number) is None
        self.overlay[number] = row
        self.versions[number] = self.versions.get(number, 1) + 1
        if is_new:
            self._changed_set, self._sorted = True, None
        return self.key_of(number)

    def delete(self, number: str) -> None:
        self.overlay[number] = None
        self.versions[number] = self.versions.get(number, 1) + 1
        self._changed_set, self._sorted = True, None

    def new_number(self) -> str:
        while True:
            number = self.spec.number(self.next_number)
            self.next_number += 1
            if self.get(number) is None:
                return number


class _Numbers(Sequence[str]):
    """The `No` of every seeded record, without building the list."""

    def __init__(self, spec: PageSpec, count: int) -> None:
        self._spec, self._count = spec, count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._spec.number(p + 1) for p in range(*index.indices(self._count))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._spec.number(index + 1)
