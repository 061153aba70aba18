"""Deterministic seeded rows: row `k` of CUSTOMER or ITEM is a pure function of (seed, k), built on demand.

Nothing is stored per row, so a million-customer sandbox costs no memory until someone mutates it (the overlay
in store.py). Each row is a tuple of strings in the ObjectSpec's field order. A splitmix64-style hash of the key
picks words from the pools; dates are formatted from precomputed day and time strings. Seeded dates are Athens
local time between 2018-01-01 and 2024-12-31; some INSDATE values are "" or Delphi's zero date on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from functools import cache

from . import pools
from .schema import CUSTOMER, ITEM, ObjectSpec

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_MUL_G = 0xD6E8FEB86659FD93
_MUL_D = 0xBF58476D1CE4E5B9
FIRST_DAY = date(2018, 1, 1)
DAY_COUNT = (date(2025, 1, 1) - FIRST_DAY).days
SPAN = DAY_COUNT * 86400
ZERO_DATE = "1899-12-30 00:00:00"


def _mix(x: int) -> int:
    x &= _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


@cache
def _clock_strings() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    days = tuple((FIRST_DAY + timedelta(days=i)).isoformat() for i in range(DAY_COUNT))
    minutes = tuple(f" {m // 60:02d}:{m % 60:02d}:" for m in range(1440))
    seconds = tuple(f"{s:02d}" for s in range(60))
    return days, minutes, seconds


@cache
def _afm_weights() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Weighted digit sums of 4-digit halves, for the Greek AFM check digit (weights 2^8 .. 2^1)."""

    def weighted(n: int, weights: tuple[int, ...]) -> int:
        digits = f"{n:04d}"
        return sum(int(d) * w for d, w in zip(digits, weights, strict=True))

    high = tuple(weighted(n, (256, 128, 64, 32)) for n in range(10000))
    low = tuple(weighted(n, (16, 8, 4, 2)) for n in range(10000))
    return high, low


def format_seconds(offset: int) -> str:
    """An offset in seconds from FIRST_DAY 00:00 as 'YYYY-MM-DD HH:MM:SS'."""
    days, minutes, seconds = _clock_strings()
    return days[offset // 86400] + minutes[(offset % 86400) // 60] + seconds[offset % 60]


class RowGenerator:
    """Seeded rows of one object; subclasses fill `rows`, the batch builder every page goes through."""

    spec: ObjectSpec

    def __init__(self, seed: int, count: int, company: str, text: Callable[[str], str] = str) -> None:
        self.seed, self.count, self.company = seed, count, company
        self._salt = _mix(seed * _GOLDEN + len(self.spec.name))
        self._days, self._minutes, self._seconds = _clock_strings()

    def rows(self, keys: Iterable[int]) -> list[tuple[str, ...]]:
        raise NotImplementedError

    def with_text(self, text: Callable[[str], str]) -> RowGenerator:
        """The same rows with `text` applied once to every pool string (encoding.to_wire for the page path)."""
        return type(self)(self.seed, self.count, self.company, text)

    def row(self, k: int) -> tuple[str, ...]:
        return self.rows((k,))[0]

    def _hashes(self, k: int) -> tuple[int, int, int]:
        """The three 64-bit hashes of key k; `rows` inlines the same arithmetic."""
        h = _mix(k * _GOLDEN ^ self._salt)
        g = ((h ^ (h >> 29)) * _MUL_G) & _MASK
        g ^= g >> 32
        d = ((g ^ (g >> 31)) * _MUL_D) & _MASK
        return h, g, d ^ (d >> 29)

    def _dates(self, k: int) -> tuple[str, str]:
        d = self._hashes(k)[2]
        ins = d % SPAN
        upd = ins + (d >> 32) % (SPAN - ins)
        return _insdate(k, ins), format_seconds(upd)

    def getter(self, name: str) -> Callable[[int], str]:
        """A function from key to the value of field `name`, cheaper than `row` where it can be."""
        if name == self.spec.key:
            return str
        if name in ("INSDATE", "UPDDATE"):
            pos = 0 if name == "INSDATE" else 1
            return lambda k: self._dates(k)[pos]
        index = self.spec.index[name]
        return lambda k: self.row(k)[index]


def _insdate(k: int, offset: int) -> str:
    """INSDATE: empty for about 1% of rows, Delphi's zero date for another 1%, else the offset."""
    if k % 97 == 3:
        return ""
    if k % 89 == 5:
        return ZERO_DATE
    return format_seconds(offset)


class CustomerRows(RowGenerator):
    """CUSTOMER rows (table TRDR, SODTYPE 13), keys 1..count."""

    spec = CUSTOMER

    def __init__(self, seed: int, count: int, company: str, text: Callable[[str], str] = str) -> None:
        super().__init__(seed, count, company, text)
        self._names = tuple((text(name), slug) for name, slug in pools.customer_names())
        self._cities = tuple((text(c), z, a, 10 ** (10 - len(a))) for c, z, a in pools.CITIES)
        self._streets = tuple(text(street + " ") for street in pools.STREETS)
        self._remarks = tuple(text(r) for r in pools.CUSTOMER_REMARKS)
        self._tab_remarks = tuple(text(r) for r in pools.TAB_REMARKS)
        self._afm_high, self._afm_low = _afm_weights()

    def rows(self, keys: Iterable[int]) -> list[tuple[str, ...]]:
        # The hot loop of every page: hashing inlined (same arithmetic as _hashes), pools bound to locals.
        salt, company, names, cities, streets = self._salt, self.company, self._names, self._cities, self._streets
        n_names, n_cities, n_streets = len(names), len(cities), len(streets)
        remarks, tab_remarks, domains = self._remarks, self._tab_remarks, pools.DOMAINS
        n_remarks = len(remarks)
        afm_high, afm_low = self._afm_high, self._afm_low
        days, minutes, seconds = self._days, self._minutes, self._seconds
        out: list[tuple[str, ...]] = []
        for k in keys:
            h = (k * _GOLDEN ^ salt) & _MASK
            h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
            h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _MASK
            h ^= h >> 31
            g = ((h ^ (h >> 29)) * _MUL_G) & _MASK
            g ^= g >> 32
            d = ((g ^ (g >> 31)) * _MUL_D) & _MASK
            d ^= d >> 29
            name, slug = names[h % n_names]
            city, zip3, area, mod = cities[(h >> 12) % n_cities]
            base = 10000000 + g % 90000000
            afm = str(base * 10 + (afm_high[base // 10000] + afm_low[base % 10000]) % 11 % 10) if (g >> 40) & 31 else ""
            remark = tab_remarks[(k // 500) % 3] if k % 500 == 7 else remarks[(g >> 53) % n_remarks]
            ins = d % SPAN
            upd = ins + (d >> 32) % (SPAN - ins)
            # _insdate's rule, inlined
            insdate = "" if k % 97 == 3 else ZERO_DATE if k % 89 == 5 else (
                days[ins // 86400] + minutes[(ins % 86400) // 60] + seconds[ins % 60])
            key = str(k)
            out.append((company, "13", key, "C" + key.zfill(6), name, afm, "1" if (h >> 36) & 15 else "0",
                        streets[(h >> 20) % n_streets] + str((h >> 28) % 180 + 1), city,
                        zip3 + str(100 + (h >> 40) % 100)[1:], area + str(mod + (g >> 20) % mod)[1:],
                        f"{slug}{key}@{domains[(g >> 50) & 3]}" if (g >> 45) & 31 else "", "", remark, insdate,
                        days[upd // 86400] + minutes[(upd % 86400) // 60] + seconds[upd % 60]))
        return out


class ItemRows(RowGenerator):
    """ITEM rows (table MTRL, SODTYPE 51), keys 1..count."""

    spec = ITEM

    def __init__(self, seed: int, count: int, company: str, text: Callable[[str], str] = str) -> None:
        super().__init__(seed, count, company, text)
        self._names = tuple(text(name) for name in pools.item_names())
        self._remarks = tuple(text(r) for r in pools.ITEM_REMARKS)

    def rows(self, keys: Iterable[int]) -> list[tuple[str, ...]]:
        return [self._item(k) for k in keys]

    def _item(self, k: int) -> tuple[str, ...]:
        h, _, d = self._hashes(k)
        digits = f"520{(h >> 8) % 1000000000:09d}"
        odd = sum(int(c) for c in digits[0::2])
        even = sum(int(c) for c in digits[1::2])
        barcode = f"{digits}{(10 - (odd + 3 * even) % 10) % 10}"
        cents = 50 + (h >> 20) % 200000
        wholesale = cents * 80 // 100
        grams = 5 + (h >> 40) % 25000
        ins = d % SPAN
        return (
            self.company,
            "51",
            str(k),
            f"IT{k:06d}",
            self._names[h % len(self._names)],
            barcode,
            "1" if (h >> 36) & 15 else "0",
            pools.VAT_CODES[(h >> 56) % len(pools.VAT_CODES)],
            f"{wholesale // 100}.{wholesale % 100:02d}",
            f"{cents // 100}.{cents % 100:02d}",
            f"{grams // 1000}.{grams % 1000:03d}",
            self._remarks[(h >> 60) % len(self._remarks)],
            _insdate(k, ins),
            format_seconds(ins + (d >> 32) % (SPAN - ins)),
        )


def generators(
    seed: int, customers: int, items: int, company: str, text: Callable[[str], str] = str
) -> dict[str, RowGenerator]:
    """One generator per data-holding object, keyed by object name."""
    return {"CUSTOMER": CustomerRows(seed, customers, company, text), "ITEM": ItemRows(seed, items, company, text)}
