"""The console's pages: sign-in, the overview, an integration with its runs, and the editor.

Views parse and answer; the services do the work (the same calls the JSON API makes). Every page but sign-in needs
a signed-in session; every POST needs the session's CSRF token, checked before any view runs.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import available_timezones

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from erp_sync.domain.run import Trigger
from erp_sync.errors import ErpSyncError
from erp_sync.web.console import chart, hints, overview
from erp_sync.web.console import session as console_session
from erp_sync.web.console.throttle import SignInThrottle

bp = Blueprint("console", __name__)
PUBLIC = frozenset({"console.login", "console.sign_in"})
RUNS_PER_PAGE = 15
LAST_PAGE = 1_000_000  # any page past the runs shows none; beyond this the offset would overflow the database's


def _app() -> Any:
    return current_app.extensions["erp_sync"]


@bp.before_request
def _guard() -> Response | None:
    console_session.require_csrf()
    if request.endpoint in PUBLIC or console_session.signed_in():
        return None
    return redirect(url_for("console.login", next=request.full_path.rstrip("?")))


@bp.errorhandler(ErpSyncError)
def _refused(exc: ErpSyncError) -> tuple[str, int]:
    from erp_sync.web.errors import status_for

    return render_template("error.html", error=exc), status_for(exc.code)


@bp.get("/login")
def login() -> str | Response:
    if console_session.signed_in():
        return redirect(url_for("console.overview_page"))
    return render_template("login.html", timed_out=console_session.timed_out(), next=_next(), signed_in=False)


@bp.post("/login")
def sign_in() -> tuple[str, int] | Response:
    if console_session.token_is_right(request.form.get("token", "")):
        _throttle().succeeded(request.remote_addr or "")
        console_session.sign_in()
        return redirect(_next())
    _throttle().failed(request.remote_addr or "")
    return render_template("login.html", refused=True, next=_next(), signed_in=False), 401


@bp.post("/logout")
def sign_out() -> Response:
    console_session.sign_out()
    flash("You are signed out.")
    return redirect(url_for("console.login"))


def _next() -> str:
    """Where to go after signing in: a path of this site only."""
    target = request.values.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else url_for("console.overview_page")


def _throttle() -> SignInThrottle:
    throttle: SignInThrottle = current_app.extensions["erp_sync_console_throttle"]
    return throttle


@bp.get("/")
def overview_page() -> str:
    rows = overview.summaries(_app())
    recent, _ = _app().monitoring.runs(None, 40, 0)
    return render_template("overview.html", rows=rows, counts=overview.counts(rows), chart=chart.runs_chart(recent),
                           now=_app().clock.now())


@bp.get("/integrations/<id:integration_id>")
def integration_page(integration_id: int) -> str:
    app = _app()
    record = app.integrations.get(integration_id)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), LAST_PAGE)
    runs, total = app.monitoring.runs(integration_id, RUNS_PER_PAGE, (page - 1) * RUNS_PER_PAGE)
    recent, _ = app.monitoring.runs(integration_id, 30, 0)
    summary = overview.summary(app, integration_id)
    preview = app.integrations.preview_schedule(summary.cron, summary.timezone, 5)
    return render_template("integration.html", record=record, spec=record.spec, summary=summary, runs=runs,
                           total=total, page=page, pages=max((total + RUNS_PER_PAGE - 1) // RUNS_PER_PAGE, 1),
                           chart=chart.runs_chart(recent), preview=preview, next_step=hints.next_step,
                           now=app.clock.now())


@bp.post("/integrations/<id:integration_id>/run")
def run_now(integration_id: int) -> Response:
    kind = request.form.get("kind", "now")
    try:
        job = _app().dispatch.start(integration_id, Trigger.API, full=kind == "full", dry_run=kind == "dry",
                                    require_active=False)
        flash(f"Run {job.run_id} started" + {"full": " (a full read)", "dry": " (a dry run: nothing is written)"}
              .get(kind, "") + ".")
    except ErpSyncError as exc:
        if exc.code not in {"SYNC_IN_PROGRESS", "INTEGRATION_INACTIVE"}:
            raise
        flash(exc.message, "error")
    return redirect(url_for("console.integration_page", integration_id=integration_id))


@bp.post("/integrations/<id:integration_id>/pause")
def pause(integration_id: int) -> Response:
    record = _app().integrations.set_active(integration_id, False)
    flash(f"{record.spec.name} is paused: the scheduler no longer runs it; run now still works.")
    return redirect(url_for("console.integration_page", integration_id=integration_id))


@bp.post("/integrations/<id:integration_id>/resume")
def resume(integration_id: int) -> Response:
    record = _app().integrations.set_active(integration_id, True)
    flash(f"{record.spec.name} is active again: it runs on its schedule.")
    return redirect(url_for("console.integration_page", integration_id=integration_id))


@bp.get("/integrations/<id:integration_id>/delete")
def confirm_delete(integration_id: int) -> str:
    return render_template("delete.html", record=_app().integrations.get(integration_id))


@bp.post("/integrations/<id:integration_id>/delete")
def delete(integration_id: int) -> Response:
    name = _app().integrations.get(integration_id).spec.name
    _app().integrations.delete(integration_id)
    flash(f"{name} is deleted. Its target table and rows are untouched.")
    return redirect(url_for("console.overview_page"))


@bp.get("/integrations/new")
def new_integration() -> str:
    return render_template("editor.html", record=None, val=_values(None), zones=_zones())


@bp.get("/integrations/<id:integration_id>/edit")
def edit_integration(integration_id: int) -> str:
    record = _app().integrations.get(integration_id)
    spec = record.spec.public_dict()
    filters = spec["source"].get("filters")
    if isinstance(filters, list):  # a SOAP source's {field, criteria} pairs, as the editor writes them
        spec["source"]["filters"] = "; ".join(f"{f['field']}={f['criteria']}" for f in filters)
    return render_template("editor.html", record=record, val=_values(spec), zones=_zones())


def _values(spec: dict[str, Any] | None) -> Any:
    """`val("connection.baseUrl", default)`: a value of the integration being edited, for the form."""

    def val(path: str, default: Any = "") -> Any:
        node: Any = spec
        for part in path.split("."):
            if not isinstance(node, dict) or node.get(part) is None:
                return default
            node = node[part]
        return node

    return val


def _zones() -> list[str]:
    return sorted(zone for zone in available_timezones() if "/" in zone or zone == "UTC")
