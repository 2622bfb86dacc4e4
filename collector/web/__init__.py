"""The collector's web app (Flask app factory): JSON API, wall displays, dashboard, fleet and admin."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, url_for
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from collector.db import connect
from collector.publication import DEFAULT_MIN_CELL, PUBLIC_MIN_COUNT
from collector.sessions import SESSION_LIFETIME
from collector.web import log_redaction
from collector.web.live import LiveHub
from collector.web.stream_limits import StreamGate, StreamLimits
from ressenti.errors import BadConfig
from ressenti.mqtt import parse_broker_url

log = logging.getLogger(__name__)

# Every HTML page needs a logged-in user except these (issue 6): the login page,
# the token walls, the JSON API (public figures, or bearer tokens), and the public results and open data.
PUBLIC_BLUEPRINTS = frozenset({"login", "wall", "api", "api_admin", "api_alerts", "api_events", "public",
                               "opendata", "survey", "api_survey"})


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Config keys: DATABASE (path), BROKER_URL (for live updates and config pushes), SECRET_KEY,
    MIN_CELL (smallest breakdown cell shown), PUBLIC_MIN_COUNT (answers a public figure needs),
    OPEN_DATA_LICENCE (the open data's licence, the organisation's choice: docs/public.md),
    SESSION_COOKIE_SECURE, PROXY_HOPS (proxies in front, for
    the client address the login rate limit counts), TIME_ZONE (times not tied to a site), and the live
    streams' limits (STREAMS_PER_TOKEN, STREAMS_PER_USER, STREAMS_PER_ADDRESS, STREAMS_PER_PROCESS,
    STREAM_PAGE_THREADS, STREAM_RETRY_AFTER_S: collector/web/stream_limits.py).

    They come from `test_config`, else from RESSENTI_* environment variables
    (RESSENTI_DATABASE, RESSENTI_BROKER_URL, RESSENTI_SECRET_KEY, RESSENTI_MIN_CELL, ...).
    """
    root = Path(__file__).resolve().parent.parent
    app = Flask(__name__, template_folder=str(root / "templates"), static_folder=str(root / "static"))
    app.config.from_mapping(
        DATABASE="ressenti.db", BROKER_URL=None, SECRET_KEY=None, START_LIVE=True,
        MAX_CONTENT_LENGTH=1024 * 1024, MIN_CELL=DEFAULT_MIN_CELL, PUBLIC_MIN_COUNT=PUBLIC_MIN_COUNT,
        OPEN_DATA_LICENCE="etalab-2.0", PROXY_HOPS=0, TIME_ZONE="Europe/Paris",
        SESSION_COOKIE_SECURE=None, SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="ressenti_session",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        # A dashboard left open all morning must still submit its forms.
        WTF_CSRF_TIME_LIMIT=None,
    )
    if test_config is None:
        app.config.from_prefixed_env("RESSENTI")
    else:
        app.config.from_mapping(test_config)
    if not app.config["SECRET_KEY"] and not app.testing:
        raise BadConfig("SECRET_KEY is not set: put a long random value in RESSENTI_SECRET_KEY")
    # Secure cookies unless told otherwise; tests and the demo on http://127.0.0.1 turn it off.
    if app.config["SESSION_COOKIE_SECURE"] is None:
        app.config["SESSION_COOKIE_SECURE"] = not app.testing
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["SESSION_COOKIE_SECURE"])
    for key in ("MIN_CELL", "PUBLIC_MIN_COUNT"):
        try:
            app.config[key] = int(app.config[key])
        except (TypeError, ValueError):
            raise BadConfig(f"{key} {app.config[key]!r} must be a whole number") from None
        if app.config[key] < 1:
            raise BadConfig(f"{key} {app.config[key]!r} must be at least 1")
    if app.config["PROXY_HOPS"]:
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    log_redaction.install(app.logger.name)  # wall tokens are in URLs: never in a log line
    broker = parse_broker_url(app.config["BROKER_URL"]) if app.config["BROKER_URL"] else None
    connect(app.config["DATABASE"]).close()  # migrate once, before serving
    hub = LiveHub(app.config["DATABASE"], broker)
    app.extensions["ressenti_live"] = hub
    app.extensions["ressenti_streams"] = StreamGate(StreamLimits.from_config(app.config))
    if app.config["START_LIVE"]:
        hub.start()

    from collector.web import (
        access,
        admin_alert_webhooks,
        admin_alerts,
        admin_config,
        admin_registry,
        admin_users,
        admin_walls,
        alert_settings,
        alerts_page,
        api,
        api_admin,
        api_alerts,
        api_events,
        dashboard,
        exports,
        fleet_page,
        i18n,
        login,
        notes_page,
        opendata,
        public_page,
        reports_page,
        survey_admin,
        survey_page,
        wall,
    )
    csrf = CSRFProtect(app)
    for module in (api, api_admin, api_alerts, api_events):
        csrf.exempt(module.bp)  # bearer tokens, not cookies: no cross-site forgery to fear
    # The survey's own signed one-time form stands for the CSRF token (no session, no cookie); its
    # JSON API takes a manager's cookie only with a JSON body, which no cross-site form can send.
    csrf.exempt(survey_page.bp)
    csrf.exempt(survey_admin.api)
    for module in (api, api_admin, api_alerts, api_events, wall, login, dashboard, exports, fleet_page,
                   alerts_page, admin_registry, admin_walls, admin_config, admin_users, admin_alerts,
                   notes_page, public_page, opendata, alert_settings, admin_alert_webhooks, reports_page,
                   survey_page, survey_admin):
        app.register_blueprint(module.bp)
    app.register_blueprint(survey_admin.api)
    access.install(app, PUBLIC_BLUEPRINTS)
    i18n.install(app)

    @app.teardown_appcontext
    def close_db(_exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return redirect(url_for("dashboard.overview"))

    return app


def get_db():  # type: ignore[no-untyped-def]
    """One connection per request, closed at teardown."""
    from flask import current_app
    if "db" not in g:
        g.db = connect(current_app.config["DATABASE"])
    return g.db


def live_hub() -> LiveHub:
    from flask import current_app
    return current_app.extensions["ressenti_live"]


def streams_gate() -> StreamGate:
    from flask import current_app
    return current_app.extensions["ressenti_streams"]


def tell_threads(app: Flask, threads: int) -> None:
    """The web process serves with this many threads (gunicorn's `post_worker_init`, in
    collector/web/gunicorn_conf.py): streams may take all but STREAM_PAGE_THREADS of them."""
    app.extensions["ressenti_streams"].limits = StreamLimits.from_config(app.config, threads)
