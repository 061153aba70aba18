"""Record versions (Dynamics NAV's `Key`) in a run: stored with the bindings as pages are read, sent back with
every update, and a version the ERP no longer accepts settled by the integration's conflict policy.

A read stores each record's version with its binding (`store_page_versions`, inside the page's transaction).
`VersionedConnector` wraps the connector for the two-way step: an update carries the version stored with its
binding, and `two_way.push` keeps the version the ERP answers an accepted push with. A push refused with
ERP_RECORD_CHANGED (the record changed in the ERP after it was read, between the read and the push of this run)
is never overwritten blindly:
  - erp_wins: the refusal stands; the local change stays pending, and the next run's read brings the ERP's
    values and records the conflict (once, as for any conflict found by a read);
  - local_wins: the change is sent again once, with the version the ERP has now, and the conflict is recorded;
  - newest_wins: the ERP's cursor field (NAV's Last_Date_Modified, a date) against the local row's
    options.modifiedColumn in the server's zone: a local change on a later day goes as for local_wins, anything
    else as for erp_wins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from erp_sync.connectors.base import (
    ConnectionReport,
    ErpConnector,
    Page,
    PushRequest,
    PushResult,
    Query,
    Window,
)
from erp_sync.db import bindings, versions
from erp_sync.db.findings import Conflict, record_conflicts
from erp_sync.db.runs import renew_lease
from erp_sync.domain.mapping import field_value
from erp_sync.services.run.context import RunContext
from erp_sync.services.two_way.conflicts import jsonable

log = logging.getLogger(__name__)
RECORD_CHANGED = "ERP_RECORD_CHANGED"


def store_page_versions(ctx: RunContext, conn: Connection, page: Page) -> None:
    """Keep each record's version of a page with its binding (pages of ERPs without versions cost nothing)."""
    if page.versions is None or ctx.dry_run:
        return
    versions.store(conn, ctx.integration_id, [(key, version) for key, version in zip(
        page.record_ids, page.versions, strict=True) if key and version])


class VersionedConnector:
    """The connector of one run's two-way step, with record versions and the conflict policy on stale ones."""

    def __init__(self, ctx: RunContext, inner: ErpConnector) -> None:
        self._ctx = ctx
        self._inner = inner

    def push(self, request: PushRequest) -> PushResult:
        ctx = self._ctx
        if request.record_id and request.version is None:
            with ctx.engine.connect() as conn:
                stored = versions.versions_for(conn, ctx.integration_id, [request.record_id])
            request = replace(request, version=stored.get(request.record_id))
        result = self._inner.push(request)
        if result.error_code == RECORD_CHANGED and request.record_id:
            result = self._settle(request, result)
        return result  # two_way.push stores the version of an accepted push with its binding

    def _settle(self, request: PushRequest, stale: PushResult) -> PushResult:
        ctx = self._ctx
        assert request.record_id is not None
        local = self._local_row(request.record_id)
        policy = ctx.spec.conflict_policy
        local_wins = policy == "local_wins" or (policy == "newest_wins" and self._local_is_newer(local, stale))
        if not local_wins:
            log.info("integration %s: %s %s changed in the ERP since it was read; %s keeps the ERP's values, the "
                     "next read records the conflict", ctx.integration_id, request.object, request.record_id,
                     policy, extra={"integration_id": ctx.integration_id, "run_id": ctx.run_id})
            return replace(stale, message=f"{stale.message}; conflictPolicy {policy}: the ERP's values stay and "
                                          "the next run's read records the conflict")
        self._record_conflict(request, stale, local)
        return self._inner.push(replace(request, version=stale.version))

    def _local_row(self, erp_key: str) -> Mapping[str, Any] | None:
        ctx = self._ctx
        with ctx.engine.connect() as conn:
            local_key = bindings.local_keys_for(conn, ctx.integration_id, [erp_key]).get(erp_key)
            if local_key is None:
                return None
            key = ctx.plan.key_from_text(local_key)
            row = ctx.upserter.fetch_rows(conn, [key]).get(key)
            return dict(row) if row is not None else None

    def _local_is_newer(self, local: Mapping[str, Any] | None, stale: PushResult) -> bool:
        spec = self._ctx.spec
        column, cursor = spec.options.modified_column, spec.source.cursor_field
        local_modified = local.get(column) if local is not None and column else None
        erp_text = (field_value(cursor, stale.current) if cursor and stale.current else None) or ""
        if not isinstance(local_modified, datetime) or not erp_text:
            return False
        zone = ZoneInfo(spec.connection.server_timezone)
        aware = local_modified if local_modified.tzinfo else local_modified.replace(tzinfo=UTC)
        local_moment = aware.astimezone(zone)
        if len(erp_text) <= 10:  # a date without a time: only a later day is surely newer
            return local_moment.date() > date.fromisoformat(erp_text)
        erp_moment = datetime.fromisoformat(erp_text)
        return local_moment > (erp_moment if erp_moment.tzinfo else erp_moment.replace(tzinfo=zone))

    def _record_conflict(self, request: PushRequest, stale: PushResult, local: Mapping[str, Any] | None) -> None:
        ctx = self._ctx
        with ctx.engine.begin() as conn:  # fenced: the push that follows is this run's only while it holds the lease
            renew_lease(conn, ctx.lease, ctx.clock.now(), ctx.lease_ttl)
            local_key = bindings.local_keys_for(conn, ctx.integration_id, [request.record_id or ""]).get(
                request.record_id or "")
            conflict = Conflict(request.record_id or "", local_key or "", ctx.spec.conflict_policy, "local_won",
                                {k: jsonable(v) for k, v in (local or {}).items()}, dict(stale.current or {}))
            record_conflicts(conn, ctx.integration_id, ctx.run_id, [conflict], datetime.now(UTC))

    # -- the rest of the protocol, unchanged -------------------------------------------------------------------
    def check(self) -> ConnectionReport:
        return self._inner.check()

    def object_tables(self, object_name: str) -> list[dict[str, Any]]:
        return self._inner.object_tables(object_name)

    def table_fields(self, object_name: str, table: str) -> list[dict[str, Any]]:
        return self._inner.table_fields(object_name, table)

    def pages(self, query: Query, window: Window | None = None) -> Iterator[Page]:
        return self._inner.pages(query, window)

    def close(self) -> None:
        self._inner.close()

