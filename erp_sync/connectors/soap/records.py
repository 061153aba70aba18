"""Records as zeep hands them over, turned into the text erp-sync reads: one string per element, in the order
the record type declares its elements (so every page of a source has the same fields, whatever elements an
answer left out)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from zeep.xsd import ComplexType


def field_names(record_type: ComplexType) -> tuple[str, ...]:
    return tuple(name for name, _ in record_type.elements)


def field_types(record_type: ComplexType) -> dict[str, str]:
    """Each element's XSD type name (a named restriction such as NAV's option fields gives its own name)."""
    out: dict[str, str] = {}
    for name, element in record_type.elements:
        qname = getattr(element.type, "qname", None)
        out[name] = qname.localname if qname is not None else type(element.type).__name__
    return out


def base_type(record_type: ComplexType, name: str) -> str:
    """The built-in XSD type an element's type derives from (string for NAV's option fields)."""
    for element_name, element in record_type.elements:
        if element_name == name:
            default = getattr(type(element.type), "_default_qname", None)
            return default.localname if default is not None else "string"
    return "string"


def text(value: Any) -> str:
    """A value zeep parsed, as the ERP wrote it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(" ", "seconds") if value.tzinfo is None else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def rows_of(records: Sequence[Any], fields: tuple[str, ...]) -> list[tuple[str, ...]]:
    """One tuple of texts per record, in `fields` order."""
    rows: list[tuple[str, ...]] = []
    for record in records:
        values = getattr(record, "__values__", None)
        if values is None:
            values = record if isinstance(record, dict) else {}
        rows.append(tuple(text(values.get(name)) for name in fields))
    return rows


def records_at(answer: Any, path: str) -> list[Any]:
    """The records at the dotted `path` of an operation's answer ("" = the answer itself)."""
    current = answer
    for part in filter(None, path.split(".")):
        if current is None:
            return []
        current = current[part] if isinstance(current, dict) else getattr(current, part, None)
    if current is None:
        return []
    return list(current) if isinstance(current, list | tuple) else [current]


def rows_in_xml(body: Any, record: str, fields: tuple[str, ...]) -> list[tuple[str, ...]]:
    """One tuple of texts per `record` element (qualified name, `{namespace}Customer`) under a parsed SOAP
    body, as the wire has them (what zeep would parse to and `text` would give back, without the objects).
    Fields are elements of the record's namespace; one the answer leaves out (NAV leaves blank ones out) is ""."""
    namespace = record[:record.index("}") + 1] if record.startswith("{") else ""
    position = {namespace + name: index for index, name in enumerate(fields)}
    width = len(fields)
    rows: list[tuple[str, ...]] = []
    for element in body.iter(record):
        row = [""] * width
        for child in element:
            index = position.get(child.tag)
            if index is not None:
                row[index] = child.text or ""
        rows.append(tuple(row))
    return rows
