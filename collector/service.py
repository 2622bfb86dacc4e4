"""Runs the collector in one process: ingest plus the web app on a threaded server.

Production runs ingest (`ressenti collector ingest`) and web (gunicorn,
`collector.web.wsgi:app`) as two services; this is for the demo and small setups.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from werkzeug.serving import make_server

from collector.ingest import IngestService
from collector.web import create_app
from ressenti.mqtt import BrokerAddress

log = logging.getLogger(__name__)


class WebServer:
    def __init__(self, app, host: str, port: int) -> None:  # type: ignore[no-untyped-def]
        self.app = app
        self.server = make_server(host, port, app, threaded=True)
        self.port = self.server.server_port
        self.host = host
        self._thread = threading.Thread(target=self.server.serve_forever, name="web", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.app.extensions["ressenti_live"].stop()
        self.server.shutdown()
        self._thread.join(5)


class Collector:
    """Ingest and web together, sharing one database file."""

    def __init__(self, db_path: str | Path, broker: BrokerAddress, *, host: str = "127.0.0.1",
                 port: int = 8080, secret_key: str) -> None:
        self.db_path = str(db_path)
        self.ingest = IngestService(self.db_path, broker)
        app = create_app({"DATABASE": self.db_path, "BROKER_URL": broker.url, "SECRET_KEY": secret_key})
        self.web = WebServer(app, host, port)

    def start(self) -> None:
        self.ingest.start()
        self.web.start()

    def stop(self) -> None:
        self.web.stop()
        self.ingest.stop()
