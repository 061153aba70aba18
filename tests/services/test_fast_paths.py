"""The run's fast paths give what the domain's rules give, for random pages (hypothesis).

- Field names: every place that matches an ERP field by name (the mapping, the cursor field, the pushed columns,
  conflicts) asks `domain.mapping.field_positions`; the properties below pin that rule down.
- Mapping a page: `BoundMapping.map_rows` converts a row with one compiled function and takes short cuts for
  single string and integer keys; each mapped row must be what the field converters, `MappingPlan.key_text` and
  `MappingPlan.hash_values` make of it one value at a time.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from erp_sync.domain.mapping import FieldMapping, MappingPlan, field_part, field_positions, same_field
from erp_sync.services.load.cursor import cursor_index as _cursor_index

_NAME = st.text(alphabet="abcXYZ_.", min_size=1, max_size=8)


@settings(max_examples=400, deadline=None)
@given(_NAME, st.lists(_NAME, max_size=8))
def test_a_field_is_found_by_its_exact_name_first_then_in_another_case_then_by_the_part_after_the_dot(
        name: str, fields: list[str]) -> None:
    found = field_positions(name, fields)
    exact = [i for i, field in enumerate(fields) if field == name]
    folded = [i for i, field in enumerate(fields) if field.casefold() == name.casefold()]
    by_part = [i for i, field in enumerate(fields) if field_part(field).casefold() == field_part(name).casefold()]
    assert found == (exact or folded or by_part)
    assert all(same_field(name, fields[i]) and same_field(fields[i], name) for i in found)
    assert _cursor_index(tuple(fields), name) == (found[0] if found else None)


_TYPES = ("string", "integer", "decimal", "boolean", "date", "datetime")
_TEXT = st.one_of(
    st.sampled_from(["", "0", "1", "-7", "12.50", "1,5", "true", "false", "2024-07-01", "2024-07-01 10:00:00",
                     "1899-12-30", "31/12/2024", " x ", "Κωδικός", "9" * 25]),
    st.integers(-10**12, 10**12).map(str),
    st.text(max_size=6),
)


@st.composite
def _plan_and_page(draw: Any) -> tuple[MappingPlan, tuple[str, ...], list[list[str]]]:
    types = draw(st.lists(st.sampled_from(_TYPES), min_size=1, max_size=5))
    key_type = draw(st.sampled_from(("string", "integer", "date")))
    mappings = [FieldMapping("OBJ.KEY", "k", key_type, None)] + [
        FieldMapping(f"OBJ.F{i}", f"c{i}", kind, None) for i, kind in enumerate(types)]
    fields = tuple(draw(st.permutations([m.source for m in mappings])))
    rows = draw(st.lists(st.lists(_TEXT, min_size=len(fields), max_size=len(fields)), max_size=12))
    return MappingPlan.compile(mappings, ["k"], "Europe/Athens"), fields, rows


@settings(max_examples=300, deadline=None)
@given(_plan_and_page())
def test_a_mapped_page_is_what_the_converters_key_text_and_hash_rules_make_of_each_row(
        drawn: tuple[MappingPlan, tuple[str, ...], list[list[str]]]) -> None:
    plan, fields, rows = drawn
    bound = plan.bind(fields)
    mapped = bound.map_rows(rows)
    for values, key, text, row_hash, index in zip(mapped.values, mapped.keys, mapped.key_texts, mapped.hashes,
                                                   mapped.indexes, strict=True):
        row = rows[index]
        expected = tuple(convert(row[p]) if convert else row[p]
                         for p, convert in zip(bound.positions, plan.converters, strict=True))
        assert values == expected
        assert key == plan.key_of(expected)
        assert text == plan.key_text(key)
        assert row_hash == plan.hash_values(expected)
    assert len(mapped.values) + len(mapped.errors) <= len(rows)
    assert {i for i in mapped.indexes}.isdisjoint(problem.index for problem in mapped.errors)
