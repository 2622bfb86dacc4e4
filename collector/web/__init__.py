"""The collector's web app (Flask app factory): JSON API and live wall display."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, url_for

from collector.db import connect
from collector.web.live import LiveHub
from ressenti.errors import BadConfig
from ressenti.mqtt import parse_broker_url

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Config keys: DATABASE (path), BROKER_URL (for live updates), SECRET_KEY.

    They come from `test_config`, else from RESSENTI_* environment variables
    (RESSENTI_DATABASE, RESSENTI_BROKER_URL, RESSENTI_SECRET_KEY).
    """
    root = Path(__file__).resolve().parent.parent
    app = Flask(__name__, template_folder=str(root / "templates"), static_folder=str(root / "static"))
    app.config.from_mapping(DATABASE="ressenti.db", BROKER_URL=None, SECRET_KEY=None, START_LIVE=True,
                            MAX_CONTENT_LENGTH=1024 * 1024)
    if test_config is None:
        app.config.from_prefixed_env("RESSENTI")
    else:
        app.config.from_mapping(test_config)
    if not app.config["SECRET_KEY"] and not app.testing:
        raise BadConfig("SECRET_KEY is not set: put a long random value in RESSENTI_SECRET_KEY")

    broker = parse_broker_url(app.config["BROKER_URL"]) if app.config["BROKER_URL"] else None
    connect(app.config["DATABASE"]).close()  # migrate once, before serving
    hub = LiveHub(app.config["DATABASE"], broker)
    app.extensions["ressenti_live"] = hub
    if app.config["START_LIVE"]:
        hub.start()

    from collector.web import api, api_admin, api_events, wall
    for module in (api, api_admin, api_events, wall):
        app.register_blueprint(module.bp)

    @app.teardown_appcontext
    def close_db(_exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return redirect(url_for("wall.page"))

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
