"""Conflicts found by a read: an ERP change to a row that was also edited locally, settled by the conflict policy.

A row is edited locally when its mapped values' hash differs from its binding's. `erp_wins` takes the ERP's values;
`local_wins` keeps the local row (the push sends it); `newest_wins` compares the ERP's cursor value with the local
row's `options.modifiedColumn`. Every conflict is recorded in `erp_sync_conflicts` with both sides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from erp_sync.db.findings import Conflict, record_conflicts
from erp_sync.domain.mapping import same_field
from erp_sync.services.run.context import RunContext

Binding = tuple[str, str, str, str | None]  # (ERP key, local key, row hash, source hash)


def settle(ctx: RunContext, conn: Connection, values: Sequence[tuple[Any, ...]], bindings: Sequence[Binding],
           keys: Sequence[tuple[Any, ...]], known: dict[str, str | None], now: datetime) -> tuple[list[int], int]:
    """The positions of the page's changed rows that the ERP's values win, and the number of conflicts."""
    local_rows = ctx.upserter.fetch_rows(conn, list(keys))
    kept: list[int] = []
    conflicts: list[Conflict] = []
    policy = ctx.spec.conflict_policy
    for position, (row_values, binding, key) in enumerate(zip(values, bindings, keys, strict=True)):
        local = local_rows.get(key)
        previous = known.get(binding[0])
        edited = bool(local is not None and previous
                      and ctx.plan.hash_values(ctx.plan.local_values_from_row(local)) != previous)
        erp_wins = not edited or policy == "erp_wins" or (
            policy == "newest_wins" and _erp_is_newer(ctx, local, row_values))
        if erp_wins:
            kept.append(position)
        if edited:
            conflicts.append(_conflict(ctx, binding, local, row_values, erp_wins))
    if not ctx.dry_run:
        record_conflicts(conn, ctx.integration_id, ctx.run_id, conflicts, now)
    return kept, len(conflicts)


def _conflict(ctx: RunContext, binding: Binding, local: Any, row_values: tuple[Any, ...], erp_wins: bool) -> Conflict:
    columns = ctx.plan.columns
    return Conflict(binding[0], binding[1], ctx.spec.conflict_policy, "erp_won" if erp_wins else "local_won",
                    {c: jsonable(local.get(c)) for c in columns},
                    {c: jsonable(v) for c, v in zip(columns, row_values, strict=True)})


def _erp_is_newer(ctx: RunContext, local: Any, row_values: tuple[Any, ...]) -> bool:
    modified_column = ctx.spec.options.modified_column
    local_modified = local.get(modified_column) if modified_column else None
    cursor = ctx.spec.source.cursor_field
    cursor_target = next((m.target for m in ctx.spec.mappings if cursor and same_field(m.source, cursor)), None)
    erp_modified = row_values[ctx.plan.columns.index(cursor_target)] if cursor_target else None
    if local_modified is None or erp_modified is None:
        return True
    if isinstance(local_modified, datetime) and local_modified.tzinfo is None:
        local_modified = local_modified.replace(tzinfo=UTC)
    if isinstance(local_modified, datetime) and not isinstance(erp_modified, datetime):
        # a date without a time (NAV's Last_Date_Modified): the ERP wins unless the local change is on a later day
        zone = ZoneInfo(ctx.spec.connection.server_timezone)
        return bool(erp_modified >= local_modified.astimezone(zone).date())
    return bool(erp_modified >= local_modified)


def jsonable(value: Any) -> Any:
    """A value as a conflict record's JSON holds it: plain values as they are, anything else as its text."""
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)
