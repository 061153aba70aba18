"""A small, safe SQL WHERE subset for GetTable's FILTER, parsed by hand into a row predicate (never eval'd).

Grammar: `expr := term (OR term)*`, `term := factor (AND factor)*`, `factor := NOT factor | ( expr ) |
operand op operand | operand [NOT] LIKE 'pat' | operand IS [NOT] NULL | operand [NOT] IN (v, ...)`, with
op one of = <> != < <= > >=, operands column names (optionally `table.`-prefixed, any case), 'strings' (''
escapes a quote) and numbers. Comparisons are numeric when both sides are numbers, else case-insensitive text;
a date column compared with a date string normalizes the string to 'YYYY-MM-DD HH:MM:SS'. An empty value is
NULL: every comparison with it is false, as in SQL.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from .filters import normalize_datetime
from .protocol import invalid
from .schema import ObjectSpec

Predicate = Callable[[tuple[str, ...]], bool]
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|<>|!=|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_DATEISH = re.compile(r"^\d{4}-\d{2}-\d{2}")
_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "<>": operator.ne,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_KEYWORDS = {"AND", "OR", "NOT", "LIKE", "IS", "NULL", "IN"}


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise invalid(f"FILTER: cannot read {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind == "word" and value.upper() in _KEYWORDS:
            kind, value = "kw", value.upper()
        out.append((kind, value))
        pos = match.end()
    return out


class _Parser:
    def __init__(self, text: str, spec: ObjectSpec) -> None:
        self.tokens, self.pos, self.spec = _tokens(text), 0, spec

    def peek(self, *values: str) -> bool:
        return self.pos < len(self.tokens) and self.tokens[self.pos][1] in values

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise invalid("FILTER ends too early")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise invalid(f"FILTER: expected {value!r}")

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek("OR"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek("AND"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def factor(self) -> Predicate:
        if self.peek("NOT"):
            self.take()
            inner = self.factor()
            return lambda row: not inner(row)
        if self.peek("("):
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        return self.comparison()

    def operand(self) -> tuple[Callable[[tuple[str, ...]], str], bool]:
        """(value getter, is a date column)."""
        kind, value = self.take()
        if kind == "str":
            text = value[1:-1].replace("''", "'")
            return (lambda row: text), False
        if kind == "num":
            return (lambda row: value), False
        if kind == "word":
            name = value.split(".")[-1].upper()
            spec_field = self.spec.field(name)
            if spec_field is None:
                raise invalid(f"FILTER: {self.spec.table} has no column {value!r}")
            index = self.spec.index[spec_field.name]
            return (lambda row: row[index]), spec_field.is_date
        raise invalid(f"FILTER: unexpected {value!r}")

    def literal(self) -> str:
        kind, value = self.take()
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if kind == "num":
            return value
        raise invalid(f"FILTER: expected a 'string' or a number, got {value!r}")

    def comparison(self) -> Predicate:
        left, left_date = self.operand()
        negate = self.peek("NOT") and bool(self.take())
        if self.peek("IS"):
            self.take()
            negate = self.peek("NOT") and bool(self.take())
            self.expect("NULL")
            return lambda row: (left(row) == "") != negate
        if self.peek("LIKE"):
            self.take()
            pattern = _like(self.literal())
            return lambda row: (left(row) != "" and pattern.fullmatch(left(row)) is not None) != negate
        if self.peek("IN"):
            self.take()
            self.expect("(")
            options = [self.literal()]
            while self.peek(","):
                self.take()
                options.append(self.literal())
            self.expect(")")
            return lambda row: any(_compare(left(row), "=", o, left_date) for o in options) != negate
        kind, op = self.take()
        if kind != "op":
            raise invalid(f"FILTER: expected an operator, got {op!r}")
        right, right_date = self.operand()
        return lambda row: _compare(left(row), op, right(row), left_date or right_date)


def _like(pattern: str) -> re.Pattern[str]:
    parts = ("." if c == "_" else ".*" if c == "%" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _compare(a: str, op: str, b: str, dates: bool) -> bool:
    if a == "" or b == "":
        return False
    left: Any
    right: Any
    if _NUMBER.match(a) and _NUMBER.match(b):
        left, right = float(a), float(b)
    elif dates and _DATEISH.match(a) and _DATEISH.match(b):
        left, right = normalize_datetime(a), normalize_datetime(b)
    else:
        left, right = a.casefold(), b.casefold()
    return _OPERATORS[op](left, right)


def compile_where(text: str, spec: ObjectSpec) -> Predicate:
    """A predicate on row tuples of `spec` for a FILTER string; an empty filter matches everything."""
    if not text.strip():
        return lambda row: True
    parser = _Parser(text, spec)
    predicate = parser.expr()
    if parser.pos != len(parser.tokens):
        raise invalid(f"FILTER: unexpected {parser.tokens[parser.pos][1]!r}")
    return predicate
