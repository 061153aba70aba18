"""Adding the console to the Flask app: the session cookie, the sign-in throttle, the template filters and the
pages' blueprint."""

from __future__ import annotations

from typing import Any

from flask import Flask

from erp_sync.errors import ConfigurationError
from erp_sync.web.console import formatting, pages, session
from erp_sync.web.console.throttle import SignInThrottle


def install(app: Flask, settings: Any) -> None:
    """Refuses (CONFIGURATION_ERROR) without a session key: production must give ERP_SYNC_SESSION_KEY."""
    if not settings.session_key:
        raise ConfigurationError(
            "ERP_SYNC_SESSION_KEY is not set. In production the console's sessions need it, the same on every "
            "replica: set ERP_SYNC_SESSION_KEY (or ERP_SYNC_SESSION_KEY_FILE) to a long random text, e.g. the "
            "output of `openssl rand -hex 32`", field="ERP_SYNC_SESSION_KEY")
    session.configure(app, settings.session_key)
    app.extensions["erp_sync_console_throttle"] = SignInThrottle()
    app.jinja_env.filters.update(duration=formatting.duration, moment=formatting.moment, ago=formatting.ago,
                                 number=formatting.number, percent=formatting.percent,
                                 status_label=formatting.status_label, outcome=formatting.outcome_class,
                                 when=formatting.when)
    app.jinja_env.globals.update(csrf_token=session.csrf_token, csrf_field=session.CSRF_FIELD)
    app.register_blueprint(pages.bp)
