"""SqlData (named scripts with parameters) and GetTable (a table, a field list and a WHERE subset).

Scripts, looked up by name (any case) or numeric code; rows are objects keyed by column alias:
- `ChangedCustomers` / "9701": customers with UPDDATE >= `since` ('YYYY-MM-DD[ HH:MM:SS]', required), ordered by
  UPDDATE then TRDR; columns TRDR, CODE, NAME, AFM, EMAIL, PHONE01, CITY, ISACTIVE, UPDDATE.
- `ChangedItems` / "9702": the same for items; columns MTRL, CODE, NAME, CODE1, ISACTIVE, PRICEW, PRICER, UPDDATE.
- `ItemStock` / "9703": every item with MTRL, CODE and a "Stock QTY" column (an alias with a space, as real
  scripts have).
Each script pages only when asked: `pPage` (1-based) and `pSize`. Without them every row comes back at once and
totalcount is the number of rows returned, as SoftOne does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .filters import normalize_datetime
from .protocol import Request, invalid
from .schema import lookup_object
from .where import compile_where

if TYPE_CHECKING:
    from .state import SandboxState


@dataclass(frozen=True)
class Script:
    name: str
    code: str
    object_name: str
    columns: tuple[str, ...]
    changed_since: bool


SCRIPTS: tuple[Script, ...] = (
    Script(
        "ChangedCustomers",
        "9701",
        "CUSTOMER",
        ("TRDR", "CODE", "NAME", "AFM", "EMAIL", "PHONE01", "CITY", "ISACTIVE", "UPDDATE"),
        True,
    ),
    Script(
        "ChangedItems",
        "9702",
        "ITEM",
        ("MTRL", "CODE", "NAME", "CODE1", "ISACTIVE", "PRICEW", "PRICER", "UPDDATE"),
        True,
    ),
    Script("ItemStock", "9703", "ITEM", ("MTRL", "CODE", "Stock QTY"), False),
)


def _script(req: Request) -> Script:
    wanted = req.text("SqlName")
    for script in SCRIPTS:
        if wanted.lower() in (script.name.lower(), script.code):
            return script
    names = ", ".join(f"{s.name} ({s.code})" for s in SCRIPTS)
    raise invalid(f"SqlData script {wanted!r} not found; the sandbox has {names}")


def _stock(state: SandboxState) -> Callable[[str], str]:
    seed = state.config.seed
    return lambda key: str((int(key) * 7919 + seed * 104729) % 500)


def sql_data(state: SandboxState, req: Request) -> dict[str, Any]:
    """SqlData: run a named script with its parameters."""
    script = _script(req)
    store = state.stores[script.object_name]
    keys: Any = store.keys()
    if script.changed_since:
        if not req.text("since"):
            raise invalid(f"{script.name} needs the parameter 'since' (YYYY-MM-DD HH:MM:SS)")
        since = normalize_datetime(req.text("since"))
        updated = store.value_getter("UPDDATE")
        stamped = [(value, key) for key in keys if (value := updated(key)) >= since]
        keys = [key for _, key in sorted(stamped)]
    size = req.integer("pSize")
    if size is not None or req.has("pPage"):
        size = max(1, size or 100)
        first = (max(1, req.integer("pPage", 1) or 1) - 1) * size
        keys = keys[first : first + size]
    spec, stock = store.spec, _stock(state)
    key_index = spec.key_index
    rows = []
    for row in store.rows(keys):
        rows.append({c: stock(row[key_index]) if c == "Stock QTY" else row[spec.index[c]] for c in script.columns})
    return {"success": True, "totalcount": len(rows), "rows": rows}


def get_table(state: SandboxState, req: Request) -> dict[str, Any]:
    """GetTable: FIELDS of TABLE's rows matching FILTER, columnar (model + data)."""
    spec = lookup_object(req.text("TABLE"))
    if spec is None:
        raise invalid(f"GetTable: table {req.text('TABLE')!r} not available (trdr, mtrl, CUSTOMER, ITEM)")
    names = [n.strip().split(".")[-1].upper() for n in req.text("FIELDS").split(",") if n.strip()]
    names = names or [f.name for f in spec.fields]
    unknown = [n for n in names if spec.field(n) is None]
    if unknown:
        raise invalid(f"GetTable: {spec.table} has no field {unknown[0]}")
    predicate = compile_where(req.text("FILTER"), spec)
    store = state.stores[spec.name]
    indexes = [spec.index[n] for n in names]
    data = [[row[i] for i in indexes] for row in store.rows(store.keys()) if predicate(row)]
    model = [[{"name": n, "type": spec.fields[spec.index[n]].browser_type} for n in names]]
    return {"success": True, "table": spec.table, "count": len(data), "keys": [spec.key], "model": model, "data": data}
