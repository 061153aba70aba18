"""Discovery services: getObjects, getObjectTables, getTableFields.

They describe the catalogue in schema.py the way SoftOne does: objects with name/type/caption, tables with
name (alias)/dbname/caption/filltype, and fields with sizes as strings and edit metadata. Extra-field tables
(CUSEXTRA, ITEEXTRA) list SoftOne's generic VARCHARnn/NUMnn/DATEnn columns; they hold no data here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .protocol import Request, invalid
from .schema import CATALOGUE, OTHER_TABLES, FieldSpec, ObjectSpec, catalogue_names, lookup_object

if TYPE_CHECKING:
    from .state import SandboxState

EXTRA_FIELDS: tuple[FieldSpec, ...] = (
    *(FieldSpec(f"VARCHAR{i:02d}", "String", 128, f"Αλφαριθμητικό {i}") for i in range(1, 6)),
    *(FieldSpec(f"NUM{i:02d}", "Float", 8, f"Αριθμητικό {i}", decimals=2) for i in range(1, 4)),
    *(FieldSpec(f"DATE{i:02d}", "DateTime", 8, f"Ημερομηνία {i}", edittype="CalendarDate") for i in range(1, 3)),
)


def _object_name(req: Request) -> str:
    name = req.text("OBJECT").upper()
    if name not in catalogue_names():
        raise invalid(f"object {req.text('OBJECT')!r} not found")
    return name


def get_objects(state: SandboxState, req: Request) -> dict[str, Any]:
    """getObjects: the catalogue."""
    objects = [{"name": name, "type": kind, "caption": caption} for name, kind, caption in CATALOGUE]
    return {"success": True, "count": len(objects), "objects": objects}


def _tables(name: str) -> list[tuple[str, str, str]]:
    spec = lookup_object(name)
    if spec is not None:
        return [(spec.name, spec.table, spec.caption), *spec.extra_tables]
    return list(OTHER_TABLES.get(name, ()))


def get_object_tables(state: SandboxState, req: Request) -> dict[str, Any]:
    """getObjectTables: the tables of OBJECT, main table first."""
    tables = [
        {"name": alias, "dbname": db, "caption": caption, "filltype": "SQL"}
        for alias, db, caption in _tables(_object_name(req))
    ]
    return {"success": True, "count": len(tables), "tables": tables}


def describe_field(owner: str, f: FieldSpec) -> dict[str, Any]:
    """One getTableFields entry."""
    return {
        "name": f.name,
        "alias": f.name,
        "fullname": f"{owner}.{f.name}",
        "caption": f.caption,
        "size": str(f.size),
        "type": f.type,
        "edittype": f.edittype,
        "xtype": "",
        "defaultvalue": "",
        "decimals": str(f.decimals),
        "editor": f.editor,
        "readOnly": f.read_only,
        "visible": True,
        "required": f.required,
        "calculated": False,
    }


def _table_fields(spec: ObjectSpec | None, table: str) -> tuple[str, tuple[FieldSpec, ...]]:
    if spec is not None and table in (spec.name, spec.table):
        return spec.name, spec.fields
    if spec is not None and any(table in (alias, db) for alias, db, _ in spec.extra_tables):
        alias = next(a for a, db, _ in spec.extra_tables if table in (a, db))
        return alias, EXTRA_FIELDS
    raise invalid(f"table {table!r}: no field list in the sandbox")


def get_table_fields(state: SandboxState, req: Request) -> dict[str, Any]:
    """getTableFields: the fields of TABLE (alias or SQL name) of OBJECT."""
    name = _object_name(req)
    owner, fields = _table_fields(lookup_object(name), req.text("TABLE").upper())
    described = [describe_field(owner, f) for f in fields]
    return {"success": True, "count": len(described), "fields": described}
