"""`POST /api/schedule/preview` (admin): what a schedule not saved yet means, for the editor that is typing it.

It asks the same service function as a saved integration's `GET /api/integrations/{id}/schedule`, so the editor
shows exactly what the scheduler will do.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from erp_sync.errors import ValidationError
from erp_sync.web import serialize
from erp_sync.web.auth import admin_required
from erp_sync.web.envelope import json_body, ok

bp = Blueprint("schedules", __name__)


def _text(body: dict[str, Any], name: str, default: str | None = None) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{name} is required, a text such as "
                              f"{'*/15 * * * *' if name == 'cronExpression' else 'Europe/Athens'}", field=name)
    return value.strip()


@bp.post("/api/schedule/preview")
@admin_required
def preview() -> Response:
    body = json_body()
    if not isinstance(body, dict):
        raise ValidationError('the body must be a JSON object such as {"cronExpression": "*/15 * * * *", '
                              '"timezone": "Europe/Athens", "count": 5}')
    count = body.get("count", 5)
    if not isinstance(count, int) or isinstance(count, bool):
        raise ValidationError("count must be a whole number between 1 and 100", field="count")
    result = current_app.extensions["erp_sync"].integrations.preview_schedule(
        _text(body, "cronExpression"), _text(body, "timezone", "UTC"), count)
    return ok(serialize.schedule_preview(result))
