"""The sandbox's NAV page services: which pages exist, their fields with XSD types, and their seeded rows.

Two pages hold data, `Customer` and `Item`, shaped like Dynamics NAV's card pages published as web services:
`Key` (NAV's record version, changing on every modification) first, then the primary key `No`, then the fields.
Seeded rows are a pure function of (seed, position): the names, cities and addresses come from the SoftOne
sandbox's generators (Greek and Latin text), so a 100k-row page service costs no memory until changed.
FlowFields (`Balance_LCY`, `Inventory`) and `Last_Date_Modified` are read-only, as in NAV.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..data import CustomerRows, ItemRows

# NAV's option field `Blocked` on the customer card, as the WSDL enumerates it.
CUSTOMER_BLOCKED = ("_blank_", "Ship", "Invoice", "All")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    xsd: str  # string, decimal, date, boolean, int, or the name of an enumeration (simpleType) of the page
    read_only: bool = False
    caption: str = ""


@dataclass(frozen=True)
class PageSpec:
    """One page web service: /WS/<Company>/Page/<name>."""

    name: str
    key: str
    prefix: str  # of the numbers the sandbox gives new records
    fields: tuple[FieldSpec, ...]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    index: dict[str, int] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        self.index.update({f.name: i for i, f in enumerate(self.fields)})

    @property
    def namespace(self) -> str:
        return f"urn:microsoft-dynamics-schemas/page/{self.name.lower()}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def number(self, position: int) -> str:
        """The `No` of seeded row `position` (1-based); zero-padded, so text order is position order."""
        return f"{self.prefix}{position:06d}"


CUSTOMER = PageSpec(
    name="Customer", key="No", prefix="C",
    fields=(
        FieldSpec("Key", "string", read_only=True),
        FieldSpec("No", "string", caption="No."),
        FieldSpec("Name", "string"),
        FieldSpec("Address", "string"),
        FieldSpec("City", "string"),
        FieldSpec("Post_Code", "string", caption="Post Code"),
        FieldSpec("Phone_No", "string", caption="Phone No."),
        FieldSpec("E_Mail", "string", caption="E-Mail"),
        FieldSpec("VAT_Registration_No", "string", caption="VAT Registration No."),
        FieldSpec("Home_Page", "string", caption="Home Page"),
        FieldSpec("Blocked", "Blocked"),
        FieldSpec("Credit_Limit_LCY", "decimal", caption="Credit Limit (LCY)"),
        FieldSpec("Balance_LCY", "decimal", read_only=True, caption="Balance (LCY)"),
        FieldSpec("Last_Date_Modified", "date", read_only=True, caption="Last Date Modified"),
    ),
    enums={"Blocked": CUSTOMER_BLOCKED},
)

ITEM = PageSpec(
    name="Item", key="No", prefix="IT",
    fields=(
        FieldSpec("Key", "string", read_only=True),
        FieldSpec("No", "string", caption="No."),
        FieldSpec("Description", "string"),
        FieldSpec("Base_Unit_of_Measure", "string", caption="Base Unit of Measure"),
        FieldSpec("GTIN", "string"),
        FieldSpec("Unit_Price", "decimal", caption="Unit Price"),
        FieldSpec("Unit_Cost", "decimal", caption="Unit Cost"),
        FieldSpec("Inventory", "decimal", read_only=True),
        FieldSpec("Blocked", "boolean"),
        FieldSpec("Last_Date_Modified", "date", read_only=True, caption="Last Date Modified"),
    ),
)

PAGES = {page.name: page for page in (CUSTOMER, ITEM)}

# A seeded row is the page's fields without Key: the store adds the Key from the row's version.
Row = tuple[str, ...]
Generator = Callable[[Sequence[int]], list[Row]]


def lookup_page(name: str) -> PageSpec | None:
    """The page called `name`, case-insensitively (NAV's service names are not case-sensitive)."""
    wanted = name.lower()
    return next((page for page in PAGES.values() if page.name.lower() == wanted), None)


def customer_generator(seed: int, count: int) -> Generator:
    softone = CustomerRows(seed, count, "1000")

    def rows(positions: Sequence[int]) -> list[Row]:
        out: list[Row] = []
        for s in softone.rows(positions):
            k = int(s[2])
            out.append((s[3], s[4], s[7], s[8], s[9], s[10], s[11], s[5], "", "_blank_" if s[6] == "1" else "All",
                        f"{(k * 7919) % 50 * 1000}", f"{(k * 104729) % 1000000 // 100}.{k % 100:02d}", s[15][:10]))
        return out

    return rows


def item_generator(seed: int, count: int) -> Generator:
    softone = ItemRows(seed, count, "1000")
    units = ("TEM", "KG", "PCS", "BOX")

    def rows(positions: Sequence[int]) -> list[Row]:
        out: list[Row] = []
        for s in softone.rows(positions):
            k = int(s[2])
            out.append((s[3], s[4], units[k % len(units)], s[5], s[9], s[8], f"{k * 37 % 900}",
                        "false" if s[6] == "1" else "true", s[13][:10]))
        return out

    return rows


GENERATORS: dict[str, Callable[[int, int], Generator]] = {"Customer": customer_generator, "Item": item_generator}
