"""The operations of a NAV page service, over one page's store: Read, ReadMultiple, Create, Update, Delete.

ReadMultiple returns up to `setSize` records in `No` order after the record whose Key is `bookmarkKey` (a stale
Key still marks its record's place), matching every filter; an empty answer ends a read. Update and Delete need
the record's current Key: an older one is NAV's "Another user has modified the record" fault. Update changes
only the fields sent and refuses read-only ones (FlowFields, Last_Date_Modified). Create numbers the record
when `No` is not sent. Every change stamps Last_Date_Modified with the server's date and gives a new Key.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import criteria, envelope
from .envelope import Call, SoapFault, record_xml, values_of
from .pages import PageSpec, Row
from .store import PageStore, key_parts


class PageService:
    """The operations of one page; callers hold the sandbox lock."""

    def __init__(self, store: PageStore, today: Callable[[], str], log: list[dict[str, Any]]) -> None:
        self.store = store
        self.spec: PageSpec = store.spec
        self._today = today
        self._log = log

    def call(self, call: Call, max_set_size: int) -> tuple[str, int]:
        """The answer's body content and how many records it carries."""
        operation = call.operation
        if operation == "ReadMultiple":
            return self.read_multiple(call, max_set_size)
        if operation == "Read":
            number = call.child(self.spec.key)
            row = self.store.get((number.text or "") if number is not None else "")
            found = self._record(number.text or "", row) if number is not None and row is not None else ""
            return f'<Read_Result xmlns="{self.spec.namespace}">{found}</Read_Result>', int(bool(found))
        if operation in ("Create", "Update"):
            return self._write(call), 1
        if operation == "Delete":
            key_element = call.child("Key")
            key = (key_element.text or "") if key_element is not None else ""
            self._log.append({"operation": "Delete", "page": self.spec.name, "fields": {"Key": key}})
            self.delete(key)
            return (f'<Delete_Result xmlns="{self.spec.namespace}"><Delete_Result>true</Delete_Result>'
                    "</Delete_Result>"), 0
        raise SoapFault(envelope.SERVICE, f"Method {operation} not found on page {self.spec.name}")

    def _write(self, call: Call) -> str:
        operation = call.operation
        element = call.child(self.spec.name)
        if element is None:
            raise SoapFault(envelope.SERVICE, f"Parameter {self.spec.name} in method {operation} is not valid")
        values = values_of(element)
        self._log.append({"operation": operation, "page": self.spec.name, "fields": dict(values)})
        number, row = self.create(values) if operation == "Create" else self.update(values)
        return f'<{operation}_Result xmlns="{self.spec.namespace}">{self._record(number, row)}</{operation}_Result>'

    def _record(self, number: str, row: Row) -> str:
        return record_xml(self.spec.name, self.spec.names, (self.store.key_of(number), *row))

    # -- reading ---------------------------------------------------------------------------------------------
    def read_multiple(self, call: Call, max_set_size: int) -> tuple[str, int]:
        tests = [self._filter(f) for f in call.children("filter")]
        size_element, bookmark_element = call.child("setSize"), call.child("bookmarkKey")
        try:
            size = int(size_element.text or "0") if size_element is not None else 0
        except ValueError as exc:
            raise SoapFault(envelope.SERVICE, "Parameter setSize in method ReadMultiple is not valid") from exc
        size = min(size, max_set_size) if size > 0 else max_set_size
        start = 0
        if bookmark_element is not None and bookmark_element.text:
            parts = key_parts(bookmark_element.text)
            if parts is None:
                raise SoapFault(envelope.SERVICE, "The bookmark key is not valid for this page")
            start = self.store.position_after(parts[0])
        found: list[str] = []
        for number, row in self.store.iter_from(start, batch=max(size, 100)):
            if all(test(row) for test in tests):
                found.append(self._record(number, row))
                if len(found) >= size:
                    break
        ns = self.spec.namespace
        if not found:
            return f'<ReadMultiple_Result xmlns="{ns}"/>', 0
        return (f'<ReadMultiple_Result xmlns="{ns}"><ReadMultiple_Result>{"".join(found)}</ReadMultiple_Result>'
                "</ReadMultiple_Result>"), len(found)

    def _filter(self, element: Any) -> Callable[[Row], bool]:
        parts = {k: v or "" for k, v in values_of(element).items()}
        name, text = parts.get("Field", ""), parts.get("Criteria", "")
        index = self.spec.index.get(name)
        if index is None or name == "Key":
            raise SoapFault(envelope.SERVICE, f"The field {name!r} does not exist on page {self.spec.name}; "
                                              "Parameter filter in method ReadMultiple is not valid")
        try:
            test = criteria.parse(text, self.spec.fields[index].xsd)
            test("")
        except (ValueError, ArithmeticError) as exc:
            raise SoapFault(envelope.SERVICE, f"The filter {text!r} on {name} is not valid: {exc}") from exc
        position = index - 1  # rows hold every field but Key

        def matches(row: Row) -> bool:
            try:
                return test(row[position])
            except (ValueError, ArithmeticError):
                return False

        return matches

    # -- writing ---------------------------------------------------------------------------------------------
    def _changes(self, values: dict[str, str | None], allowed_read_only: tuple[str, ...]) -> dict[str, str]:
        changes: dict[str, str] = {}
        for name, value in values.items():
            index = self.spec.index.get(name)
            if index is None:
                raise SoapFault(envelope.SERVICE, f"The field {name} does not exist on page {self.spec.name}")
            spec_field = self.spec.fields[index]
            if spec_field.read_only and name not in allowed_read_only:
                caption = spec_field.caption or name
                raise SoapFault(envelope.BUSINESS, f"You cannot change the contents of the {caption} field on the "
                                                   f"{self.spec.name} page: it is not editable.")
            if name != "Key" and value is not None:
                enum = self.spec.enums.get(spec_field.xsd)
                if enum and value not in enum:
                    raise SoapFault(envelope.SERVICE, f"{value!r} is not an option of {name}: {', '.join(enum)}")
                changes[name] = value
        return changes

    def _stamped(self, base: dict[str, str]) -> Row:
        base["Last_Date_Modified"] = self._today()
        return tuple(base.get(f.name, "") for f in self.spec.fields[1:])

    def create(self, values: dict[str, str | None]) -> tuple[str, Row]:
        changes = self._changes(values, ())
        number = changes.get(self.spec.key) or self.store.new_number()
        if self.store.get(number) is not None:
            raise SoapFault(envelope.BUSINESS, f"The {self.spec.name} already exists. Identification fields and "
                                               f"values: No.='{number}'")
        base = {f.name: blank_value(f.xsd, self.spec) for f in self.spec.fields[1:]}
        base.update(changes)
        base[self.spec.key] = number
        row = self._stamped(base)
        self.store.put(number, row)
        return number, row

    def update(self, values: dict[str, str | None]) -> tuple[str, Row]:
        changes = self._changes(values, ("Key",))
        number = self._current(values.get("Key"))
        merged = dict(zip(self.spec.names[1:], self.store.get(number) or (), strict=True))
        new_number = changes.get(self.spec.key, number)
        if new_number != number:
            raise SoapFault(envelope.BUSINESS, f"You cannot rename a {self.spec.name} through this service.")
        merged.update(changes)
        row = self._stamped(merged)
        self.store.put(number, row)
        return number, row

    def delete(self, key: str) -> None:
        self.store.delete(self._current(key))

    def _current(self, key: str | None) -> str:
        """The `No` of the record whose current Key is `key`; the NAV faults for a missing or stale one."""
        parts = key_parts(key or "")
        if parts is None:
            raise SoapFault(envelope.SERVICE, f"The Key {key!r} is not valid for page {self.spec.name}")
        number, _ = parts
        if self.store.get(number) is None:
            raise SoapFault(envelope.NOT_FOUND, f"The {self.spec.name} does not exist. Identification fields and "
                                                f"values: No.='{number}'")
        if self.store.key_of(number) != key:
            raise SoapFault(envelope.RECORD_CHANGED, f"Another user has modified the record for this "
                                                     f"{self.spec.name} after you retrieved it from the database. "
                                                     "Enter your changes again in the updated window, or start the "
                                                     "interrupted activity again.")
        return number


def blank_value(xsd: str, spec: PageSpec) -> str:
    """The value NAV gives a field a new record does not set."""
    if xsd in spec.enums:
        return spec.enums[xsd][0]
    return {"decimal": "0", "int": "0", "boolean": "false"}.get(xsd, "")
