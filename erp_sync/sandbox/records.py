"""Record services: getData, setData, delData and selectorFields on CUSTOMER and ITEM.

setData with an empty or absent KEY inserts and answers the new key as a string; with an existing KEY it
changes only the fields sent and bumps UPDDATE to the sandbox's Athens now; an unknown KEY answers 2001.
Business rules answer success:false with an `S1:ESoftOneError:` text (errorcode 0): an unknown field, a missing
NAME on insert, a CODE another row already has, or an armed `setdata_business_error` fault. Read-only fields
(COMPANY, SODTYPE, the key, INSDATE, UPDDATE) are ignored. Every setData lands in the setdata log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .filters import Condition, select_keys
from .protocol import NO_DATA, Request, ServiceError, as_text, business, invalid
from .schema import ObjectSpec, lookup_object
from .store import ObjectStore

if TYPE_CHECKING:
    from .state import SandboxState


def _spec(req: Request, key: str = "OBJECT") -> ObjectSpec:
    name = req.text(key).split("[", 1)[0].strip()
    spec = lookup_object(name)
    if spec is None:
        raise invalid(f"object {name!r} holds no data in the sandbox (CUSTOMER, ITEM)")
    return spec


def _existing_key(store: ObjectStore, raw: str) -> int:
    key = int(raw) if raw.isdigit() else 0
    if store.get(key) is None:
        raise ServiceError(NO_DATA)
    return key


def _locate(spec: ObjectSpec, locateinfo: str) -> dict[str, list[str]]:
    """LOCATEINFO 'TABLE:F1,F2;TABLE2:F3' as {alias: fields}; empty means every field of the main table."""
    if not locateinfo.strip():
        return {spec.name: [f.name for f in spec.fields]}
    known = {spec.name, *(alias for alias, _, _ in spec.extra_tables)}
    tables: dict[str, list[str]] = {}
    for part in locateinfo.split(";"):
        alias, _, names = part.partition(":")
        alias = alias.strip().upper()
        if not alias:
            continue
        if alias not in known:
            raise invalid(f"LOCATEINFO table {alias!r} is not a table of {spec.name}")
        fields = [n.strip().upper() for n in names.split(",") if n.strip()]
        if alias == spec.name:
            unknown = [n for n in fields if spec.field(n) is None]
            if unknown:
                raise invalid(f"{spec.name} has no field {unknown[0]}")
            fields = fields or [f.name for f in spec.fields]
        tables[alias] = fields
    return tables


def get_data(state: SandboxState, req: Request) -> dict[str, Any]:
    """getData: the record KEY, tables and fields chosen by LOCATEINFO, each table a list of row objects."""
    spec = _spec(req)
    store = state.stores[spec.name]
    key = _existing_key(store, req.text("KEY"))
    record = store.as_dict(store.get(key) or ())
    data = {
        alias: ([{n: record[n] for n in fields}] if alias == spec.name else [])
        for alias, fields in _locate(spec, req.text("LOCATEINFO")).items()
    }
    caption = f"{record['CODE']} - {record['NAME']}"
    return {"success": True, "readOnly": False, "data": data, "caption": caption}


def _master_fields(spec: ObjectSpec, req: Request) -> dict[str, str]:
    data = req.get("data")
    if not isinstance(data, dict):
        raise invalid("setData needs 'data': {TABLE: [ {FIELD: value} ]}")
    tables = {str(alias).upper(): rows for alias, rows in data.items()}
    extra = [alias for alias in tables if alias != spec.name]
    if extra:
        raise invalid(f"table {extra[0]} cannot be written in the sandbox; only {spec.name}")
    rows = tables.get(spec.name, [])
    rows = [rows] if isinstance(rows, dict) else rows
    if not isinstance(rows, list) or len(rows) > 1 or not all(isinstance(r, dict) for r in rows):
        raise invalid(f"data.{spec.name} must be a list with one row object")
    fields = {str(name).upper(): as_text(value) for name, value in (rows[0] if rows else {}).items()}
    for name in fields:
        if spec.field(name) is None:
            raise business(f"Το πεδίο {name} δεν υπάρχει στον πίνακα {spec.name} ({spec.table}).")
    read_only = {f.name for f in spec.fields if f.read_only}
    return {name: value for name, value in fields.items() if name not in read_only}


def _check_code(store: ObjectStore, fields: dict[str, str], key: int | None) -> None:
    code = fields.get("CODE")
    if code is None:
        return
    if not code:
        raise business("Ο κωδικός δεν μπορεί να είναι κενός.")
    holder = store.find_code(code)
    if holder is not None and holder != key:
        raise business(f"Υπάρχει ήδη εγγραφή με κωδικό {code}.")


def set_data(state: SandboxState, req: Request) -> dict[str, Any]:
    """setData: insert (no KEY) or update (KEY) the master row of OBJECT."""
    entry: dict[str, Any] = {
        "at": state.config.local_now_text(),
        "object": req.text("OBJECT"),
        "key": req.text("KEY"),
        "data": redact(req.get("data")),
    }
    state.setdata_log.append(entry)
    try:
        body = _set_data(state, req)
    except ServiceError as exc:
        entry.update(success=False, errorcode=exc.errorcode, error=exc.error)
        raise
    entry.update(success=True, id=body["id"])
    return body


def _set_data(state: SandboxState, req: Request) -> dict[str, Any]:
    spec = _spec(req)
    store = state.stores[spec.name]
    raw_key = req.text("KEY")
    key = _existing_key(store, raw_key) if raw_key else None
    fields = _master_fields(spec, req)
    fault = state.faults.setdata_error(spec.name, raw_key, fields)
    if fault is not None:
        raise fault
    _check_code(store, fields, key)
    now = state.config.local_now_text()
    if key is None:
        if not fields.get("NAME"):
            raise business(f"Το πεδίο '{spec.fields[spec.index['NAME']].caption}' είναι υποχρεωτικό.")
        key = store.insert(fields, now)
    else:
        store.update(key, fields, now)
    return {"success": True, "id": str(key)}


def del_data(state: SandboxState, req: Request) -> dict[str, Any]:
    """delData: delete the record KEY of OBJECT; 2001 if there is none."""
    spec = _spec(req)
    store = state.stores[spec.name]
    store.delete(_existing_key(store, req.text("KEY")))
    return {"success": True}


def selector_fields(state: SandboxState, req: Request) -> dict[str, Any]:
    """selectorFields: RESULTFIELDS of the rows of TABLENAME whose KEYNAME equals KEYVALUE, as objects."""
    spec = _spec(req, "TABLENAME")
    store = state.stores[spec.name]
    key_field = spec.field(req.text("KEYNAME"))
    names = [n.strip().upper() for n in req.text("RESULTFIELDS").split(",") if n.strip()]
    names = names or [f.name for f in spec.fields]
    unknown = [n for n in names if spec.field(n) is None]
    if key_field is None or unknown:
        raise invalid(f"{spec.name} has no field {unknown[0] if unknown else req.text('KEYNAME')!r}")
    keys = select_keys(store, [Condition(key_field, values=[req.text("KEYVALUE")])])
    indexes = [spec.index[n] for n in names]
    rows = [{n: row[i] for n, i in zip(names, indexes, strict=True)} for row in store.rows(keys)]
    return {"success": True, "totalcount": len(rows), "rows": rows}


def redact(value: Any) -> Any:
    """A copy of a request fragment with anything called like a password replaced by '***'."""
    if isinstance(value, dict):
        return {k: "***" if "pass" in str(k).lower() else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
