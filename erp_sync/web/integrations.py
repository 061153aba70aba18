"""Integration endpoints (admin): CRUD, schedule preview, connection test, manual sync and run history.

Handlers parse, call one service, and answer in the envelope; the services hold the rules.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from erp_sync.domain.run import Trigger
from erp_sync.errors import ValidationError
from erp_sync.web import runs_answer, serialize
from erp_sync.web.auth import admin_required
from erp_sync.web.envelope import bool_arg, int_arg, json_body, ok

bp = Blueprint("integrations", __name__)
_INTEGRATION = "<id(kind='integration'):integration_id>"  # erp_sync.web.ids: ASCII digits, 404 past the range
_RUN = "<id(kind='run'):run_id>"


def _app() -> Any:
    return current_app.extensions["erp_sync"]


@bp.get("/api/integrations")
@admin_required
def list_integrations() -> Response:
    app = _app()
    return ok([serialize.integration(r, app.next_run_time(r.id)) for r in app.integrations.list()])


@bp.post("/api/integrations")
@admin_required
def create_integration() -> Response:
    app = _app()
    record = app.integrations.create(json_body())
    return ok(serialize.integration(record, app.next_run_time(record.id)), 201)


@bp.get(f"/api/integrations/{_INTEGRATION}")
@admin_required
def get_integration(integration_id: int) -> Response:
    app = _app()
    return ok(serialize.integration(app.integrations.get(integration_id), app.next_run_time(integration_id)))


@bp.patch(f"/api/integrations/{_INTEGRATION}")
@admin_required
def update_integration(integration_id: int) -> Response:
    app = _app()
    record = app.integrations.update(integration_id, json_body())
    return ok(serialize.integration(record, app.next_run_time(record.id)))


@bp.delete(f"/api/integrations/{_INTEGRATION}")
@admin_required
def delete_integration(integration_id: int) -> Response:
    _app().integrations.delete(integration_id)
    return ok({"id": integration_id, "deleted": True})


@bp.get(f"/api/integrations/{_INTEGRATION}/schedule")
@admin_required
def schedule_preview(integration_id: int) -> Response:
    preview = _app().integrations.schedule_preview(integration_id, int_arg("count", 5, 1, 100))
    return ok(serialize.schedule_preview(preview))


@bp.post(f"/api/integrations/{_INTEGRATION}/test")
@admin_required
def test_integration(integration_id: int) -> Response:
    body = json_body(optional=True)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object such as {\"object\": \"CUSTOMER\"}")
    return ok(_app().discovery.test_integration(integration_id, _name(body, "object"), _name(body, "table")))


@bp.post("/api/connections/test")
@admin_required
def test_connection() -> Response:
    body = json_body()
    if isinstance(body, dict):
        for field in ("object", "table"):
            _name(body, field)
        if body.get("connector", "softone") not in ("softone", "soap"):
            raise ValidationError("connector must be softone or soap", field="connector")
    return ok(_app().discovery.test_connection(body))


def _name(body: dict[str, Any], field: str) -> str | None:
    """An ERP object or table name to explore: text, or absent/null for the default."""
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        raise ValidationError(f"{field} must be an ERP name such as \"CUSTOMER\" (text) or null", field=field)
    return value


@bp.post(f"/api/integrations/{_INTEGRATION}/sync")
@admin_required
def sync_integration(integration_id: int) -> Response:
    body = json_body(optional=True)
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object such as {\"full\": true, \"wait\": true}")
    options = {**request.args.to_dict(), **body}
    full = bool_arg(options.get("full"), "full")
    dry_run = bool_arg(options.get("dryRun"), "dryRun")
    wait = bool_arg(options.get("wait"), "wait")
    return runs_answer.answer(_app(), integration_id, trigger=Trigger.API, full=full, dry_run=dry_run, wait=wait,
                              require_active=False)


@bp.get(f"/api/integrations/{_INTEGRATION}/runs")
@admin_required
def list_runs(integration_id: int) -> Response:
    app = _app()
    app.integrations.get(integration_id)
    limit = int_arg("limit", 20, 1, 200)
    offset = int_arg("offset", 0, 0, 10_000_000)
    rows, total = app.monitoring.runs(integration_id, limit, offset)
    return ok({"items": [serialize.run(r) for r in rows], "total": total, "limit": limit, "offset": offset})


@bp.get(f"/api/runs/{_RUN}")
@admin_required
def get_run(run_id: int) -> Response:
    return ok(serialize.run(_app().monitoring.run(run_id)))
