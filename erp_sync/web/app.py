"""The Flask application factory. The app holds the wired `ErpSync` in `app.extensions["erp_sync"]`."""

from __future__ import annotations

from flask import Flask, Response

from erp_sync.bootstrap import ErpSync
from erp_sync.web import cron, errors, integrations, monitoring, run_findings, schedules
from erp_sync.web.console import setup as console
from erp_sync.web.envelope import assign_request_id, ok
from erp_sync.web.health import bp as readiness_bp
from erp_sync.web.ids import IdConverter
from erp_sync.web.metrics import bp as metrics_bp


def create_app(erp_sync: ErpSync) -> Flask:
    app = Flask("erp_sync.web")
    app.config["MAX_CONTENT_LENGTH"] = erp_sync.settings.max_body_bytes
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["erp_sync"] = erp_sync
    app.url_map.converters["id"] = IdConverter
    app.before_request(assign_request_id)
    errors.register(app, erp_sync.database_unavailable)
    app.register_blueprint(integrations.bp)
    app.register_blueprint(cron.bp)
    app.register_blueprint(monitoring.bp)
    app.register_blueprint(readiness_bp)
    app.register_blueprint(run_findings.bp)
    app.register_blueprint(schedules.bp)
    console.install(app, erp_sync.settings)
    app.register_blueprint(metrics_bp)

    @app.get("/healthz")
    def health() -> Response:
        with erp_sync.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        scheduler = erp_sync.scheduler
        return ok({"status": "ok", "scheduler": bool(scheduler and scheduler.running),
                   "sandbox": erp_sync.sandbox.url if erp_sync.sandbox else None})

    return app
