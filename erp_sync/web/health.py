"""Readiness (`/readyz`): open like `/healthz`, for load balancers and orchestrators. 200 when this process is
ready for traffic, 503 `NOT_READY` with the reasons otherwise (503 `DATABASE_ERROR` when the database cannot be
reached at all)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from erp_sync.web.envelope import failure, ok
from erp_sync.web.errors import status_for

bp = Blueprint("health", __name__)


@bp.get("/readyz")
def ready() -> Response:
    readiness = current_app.extensions["erp_sync"].readiness.check()
    facts = {"schema": readiness.schema, "schemaNeeded": readiness.schema_needed, "scheduler": readiness.scheduler}
    if readiness.ready:
        return ok({"status": "ready", **facts})
    return failure("NOT_READY", "; ".join(readiness.reasons), status_for("NOT_READY"),
                   details={"reasons": readiness.reasons, **facts})
