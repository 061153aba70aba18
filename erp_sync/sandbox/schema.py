"""The sandbox's object catalogue: which business objects exist, their tables, fields and default browsers.

Only CUSTOMER (table TRDR) and ITEM (table MTRL) hold data; the other objects appear in getObjects and
getObjectTables so discovery code sees a SoftOne-like catalogue. Field order here is the order of the row tuples
the generator builds and the overlay stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldSpec:
    """One column of a main table, described the way getTableFields describes it."""

    name: str
    type: str  # getTableFields type: String, Integer, Float, DateTime
    size: int
    caption: str
    edittype: str = "Simple"
    editor: str = ""
    decimals: int = 0
    required: bool = False
    read_only: bool = False

    @property
    def browser_type(self) -> str:
        """The ExtJS-like type getBrowserInfo reports for this column."""
        return {"Integer": "int", "Float": "float", "DateTime": "date"}.get(self.type, "string")

    @property
    def is_date(self) -> bool:
        return self.type == "DateTime"

    @property
    def is_number(self) -> bool:
        return self.type in ("Integer", "Float")


@dataclass(frozen=True)
class ObjectSpec:
    """A business object backed by one main table that the sandbox can read and write."""

    name: str
    table: str
    key: str
    sodtype: str
    caption: str
    fields: tuple[FieldSpec, ...]
    browser: tuple[str, ...]
    extra_tables: tuple[tuple[str, str, str], ...] = ()
    index: dict[str, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.index.update({f.name: i for i, f in enumerate(self.fields)})

    def field(self, name: str) -> FieldSpec | None:
        """The field called `name` (case-insensitive), or None."""
        i = self.index.get(name.upper())
        return None if i is None else self.fields[i]

    @property
    def key_index(self) -> int:
        return self.index[self.key]


def _f(name: str, type_: str, size: int, caption: str, **kw: object) -> FieldSpec:
    return FieldSpec(name, type_, size, caption, **kw)  # type: ignore[arg-type]


CUSTOMER = ObjectSpec(
    name="CUSTOMER",
    table="TRDR",
    key="TRDR",
    sodtype="13",
    caption="Πελάτες",
    fields=(
        _f("COMPANY", "Integer", 4, "Εταιρεία", read_only=True),
        _f("SODTYPE", "Integer", 4, "Τύπος συναλλασσόμενου", read_only=True),
        _f("TRDR", "Integer", 10, "Α/Α", read_only=True),
        _f("CODE", "String", 25, "Κωδικός", required=True),
        _f("NAME", "String", 128, "Επωνυμία", required=True),
        _f("AFM", "String", 20, "Α.Φ.Μ."),
        _f("ISACTIVE", "Integer", 1, "Ενεργός", edittype="Check"),
        _f("ADDRESS", "String", 128, "Διεύθυνση"),
        _f("CITY", "String", 64, "Πόλη"),
        _f("ZIP", "String", 10, "Τ.Κ."),
        _f("PHONE01", "String", 32, "Τηλέφωνο 1"),
        _f("EMAIL", "String", 128, "E-mail"),
        _f("CODE1", "String", 50, "Εναλλακτικός κωδικός"),
        _f("REMARKS", "String", 4096, "Σχόλια", edittype="Memo"),
        _f("INSDATE", "DateTime", 8, "Ημ/νία εισαγωγής", edittype="CalendarDate", read_only=True),
        _f("UPDDATE", "DateTime", 8, "Ημ/νία μεταβολής", edittype="CalendarDate", read_only=True),
    ),
    browser=(
        "TRDR",
        "CODE",
        "NAME",
        "AFM",
        "EMAIL",
        "PHONE01",
        "CITY",
        "ZIP",
        "ADDRESS",
        "ISACTIVE",
        "REMARKS",
        "INSDATE",
        "UPDDATE",
    ),
    extra_tables=(("CUSEXTRA", "TRDEXTRA", "Πρόσθετα πεδία"), ("CUSBRANCH", "TRDBRANCH", "Υποκαταστήματα")),
)

ITEM = ObjectSpec(
    name="ITEM",
    table="MTRL",
    key="MTRL",
    sodtype="51",
    caption="Είδη",
    fields=(
        _f("COMPANY", "Integer", 4, "Εταιρεία", read_only=True),
        _f("SODTYPE", "Integer", 4, "Τύπος", read_only=True),
        _f("MTRL", "Integer", 10, "Α/Α", read_only=True),
        _f("CODE", "String", 50, "Κωδικός", required=True),
        _f("NAME", "String", 128, "Περιγραφή", required=True),
        _f("CODE1", "String", 50, "Barcode"),
        _f("ISACTIVE", "Integer", 1, "Ενεργό", edittype="Check"),
        _f("VAT", "Integer", 4, "Κατηγορία ΦΠΑ", edittype="Selector", editor="VAT"),
        _f("PRICEW", "Float", 8, "Τιμή χονδρικής", decimals=2),
        _f("PRICER", "Float", 8, "Τιμή λιανικής", decimals=2),
        _f("WEIGHT", "Float", 8, "Βάρος", decimals=3),
        _f("REMARKS", "String", 4096, "Σχόλια", edittype="Memo"),
        _f("INSDATE", "DateTime", 8, "Ημ/νία εισαγωγής", edittype="CalendarDate", read_only=True),
        _f("UPDDATE", "DateTime", 8, "Ημ/νία μεταβολής", edittype="CalendarDate", read_only=True),
    ),
    browser=(
        "MTRL",
        "CODE",
        "NAME",
        "CODE1",
        "ISACTIVE",
        "VAT",
        "PRICEW",
        "PRICER",
        "WEIGHT",
        "REMARKS",
        "INSDATE",
        "UPDDATE",
    ),
    extra_tables=(("ITEEXTRA", "MTREXTRA", "Πρόσθετα πεδία"),),
)

OBJECTS: dict[str, ObjectSpec] = {"CUSTOMER": CUSTOMER, "ITEM": ITEM}
TABLES: dict[str, ObjectSpec] = {"TRDR": CUSTOMER, "MTRL": ITEM}

# The discovery catalogue: (name, type, caption) as getObjects lists them.
CATALOGUE: tuple[tuple[str, str, str], ...] = (
    ("CUSTOMER", "EditMaster", "Πελάτες"),
    ("SUPPLIER", "EditMaster", "Προμηθευτές"),
    ("ITEM", "EditMaster", "Είδη"),
    ("SALDOC", "EditMaster", "Παραστατικά πωλήσεων"),
    ("PURDOC", "EditMaster", "Παραστατικά αγορών"),
    ("ITEDOC", "EditMaster", "Κινήσεις αποθήκης"),
    ("$ITEGROUP", "EditList", "Ομάδες ειδών"),
    ("$VAT", "EditList", "Κατηγορίες ΦΠΑ"),
)

# Tables of the objects that hold no data, for getObjectTables.
OTHER_TABLES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "SUPPLIER": (("SUPPLIER", "TRDR", "Προμηθευτές"), ("SUPEXTRA", "TRDEXTRA", "Πρόσθετα πεδία")),
    "SALDOC": (
        ("SALDOC", "FINDOC", "Παραστατικό"),
        ("MTRDOC", "MTRDOC", "Στοιχεία αποστολής"),
        ("ITELINES", "MTRLINES", "Γραμμές ειδών"),
        ("SRVLINES", "MTRLINES", "Γραμμές υπηρεσιών"),
        ("EXPANAL", "EXPANAL", "Έξοδα"),
    ),
    "PURDOC": (("PURDOC", "FINDOC", "Παραστατικό"), ("ITELINES", "MTRLINES", "Γραμμές ειδών")),
    "ITEDOC": (("ITEDOC", "FINDOC", "Παραστατικό"), ("ITELINES", "MTRLINES", "Γραμμές ειδών")),
}


def lookup_object(name: object) -> ObjectSpec | None:
    """The data-holding object named `name` (object name or SQL table name, any case), or None."""
    text = str(name or "").strip().upper()
    return OBJECTS.get(text) or TABLES.get(text)


def catalogue_names() -> set[str]:
    """Every object name getObjects lists."""
    return {name for name, _, _ in CATALOGUE}
