"""NAV filter criteria as ReadMultiple receives them, evaluated on one field's text.

The syntax of NAV's filter expressions: `|` or, `&` and, `a..b` a range (either end may be missing), `<>x`, `<x`,
`<=x`, `>x`, `>=x`, `=x`, `*` as a wildcard, `''` for an empty value, and a leading `@` for a case-insensitive
comparison. Values compare as the field's type: decimals as numbers, dates and text as text (dates are ISO).
A criteria this sandbox cannot read raises ValueError, which the service answers with a SOAP fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

Test = Callable[[str], bool]
_OPERATORS = ("<>", "<=", ">=", "<", ">", "=")


def _converter(xsd: str, fold: bool) -> Callable[[str], object]:
    if xsd in ("decimal", "int"):
        def number(text: str) -> object:
            try:
                return Decimal(text or "0")
            except InvalidOperation as exc:
                raise ValueError(f"{text!r} is not a number") from exc
        return number
    return (lambda text: text.casefold()) if fold else (lambda text: text)


def _literal(text: str) -> str:
    return "" if text == "''" else text.strip("'")


def _simple(term: str, xsd: str) -> Test:
    fold = term.startswith("@")
    term = term[1:] if fold else term
    convert = _converter(xsd, fold)
    if ".." in term:
        low, _, high = term.partition("..")
        lo = convert(_literal(low)) if low else None
        hi = convert(_literal(high)) if high else None
        return lambda v: (lo is None or convert(v) >= lo) and (hi is None or convert(v) <= hi)  # type: ignore[operator]
    operator = next((op for op in _OPERATORS if term.startswith(op)), "=")
    operand = _literal(term[len(operator):] if term.startswith(operator) else term)
    if "*" in operand and operator in ("=", "<>"):
        pattern = re.compile("^" + ".*".join(map(re.escape, operand.split("*"))) + "$",
                             re.IGNORECASE if fold else 0)
        matches: Test = lambda v: bool(pattern.match(v))  # noqa: E731
        return matches if operator == "=" else (lambda v: not matches(v))
    target = convert(operand)
    compare: dict[str, Callable[[object, object], bool]] = {
        "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b,  # type: ignore[operator]
        "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,  # type: ignore[operator]
    }
    check = compare[operator]
    return lambda v: check(convert(v), target)


def parse(criteria: str, xsd: str = "string") -> Test:
    """A test of one field's text against NAV criteria; ValueError when the criteria cannot be read."""
    if not criteria.strip():
        return lambda v: True
    alternatives = []
    for alternative in criteria.split("|"):
        terms = [_simple(term.strip(), xsd) for term in alternative.split("&")]
        alternatives.append(terms)

    def test(value: str) -> bool:
        return any(all(term(value) for term in terms) for terms in alternatives)

    return test
