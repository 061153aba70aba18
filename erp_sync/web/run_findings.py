"""What a run recorded besides its counts (admin, paged): `GET /api/runs/{id}/errors` (rows it could not map, pushes
the ERP refused) and `GET /api/runs/{id}/conflicts` (rows changed on both sides and how the policy settled them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app

from erp_sync.web.auth import admin_required
from erp_sync.web.envelope import int_arg, ok
from erp_sync.web.serialize import iso

bp = Blueprint("run_findings", __name__)


def _row_error(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "runId": row["run_id"], "integrationId": row["integration_id"], "page": row["page"],
            "erpKey": row["erp_key"], "field": row["field"], "code": row["code"], "reason": row["reason"],
            "createdAt": iso(row["created_at"])}


def _conflict(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "runId": row["run_id"], "integrationId": row["integration_id"],
            "erpKey": row["erp_key"], "localKey": row["local_key"], "policy": row["policy"],
            "resolution": row["resolution"], "localValues": row["local_values"], "erpValues": row["erp_values"],
            "createdAt": iso(row["created_at"])}


def _page_of(run_id: int, kind: str, shape: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
    limit, offset = int_arg("limit", 50, 1, 500), int_arg("offset", 0, 0, 10_000_000)
    read = getattr(current_app.extensions["erp_sync"].findings, kind)
    rows, total = read(run_id, limit, offset)
    return ok({"items": [shape(row) for row in rows], "total": total, "limit": limit, "offset": offset})


@bp.get("/api/runs/<id(kind='run'):run_id>/errors")  # erp_sync.web.ids
@admin_required
def run_errors(run_id: int) -> Response:
    return _page_of(run_id, "row_errors", _row_error)


@bp.get("/api/runs/<id(kind='run'):run_id>/conflicts")
@admin_required
def run_conflicts(run_id: int) -> Response:
    return _page_of(run_id, "conflicts", _conflict)
