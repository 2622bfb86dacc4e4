"""The demo's alerts: the alerts service (evaluation, then delivery) and a local SMTP server writing a Maildir.

A newcomer sees the whole path of issue 12 in `./dev demo`: an unhappy morning at
one site (demo.world.UNHAPPY_SITE) raises an unhappy-share alert, and its e-mail
lands in `<data dir>/mailbox/new/`, one file per message. The SMTP server is
aiosmtpd with its own Maildir handler (stdlib `mailbox`), on 127.0.0.1 only.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from collector.alerts.delivery_settings import DeliverySettings, Security
from collector.alerts.service import AlertService
from collector.alerts.subscriptions import set_email
from collector.db import connect
from collector.users import find_user
from ressenti.mosquitto_runner import free_port

log = logging.getLogger(__name__)

SENDER = "alertes-ressenti@ville-de-demo.invalid"  # .invalid (RFC 2606): never a real domain
ADMIN_EMAIL = "demo-admin@ville-de-demo.invalid"


class DemoMail:
    """Start: the SMTP server, the demo admin's e-mail address, and the alerts service's loop in a thread."""

    def __init__(self, data_dir: Path, db_path: Path, admin_login: str, every_s: float = 15.0) -> None:
        self.mailbox = Path(data_dir) / "mailbox"
        self.db_path = db_path
        self.admin_login = admin_login
        self.every_s = every_s
        self._controller: Any = None
        self.service: AlertService | None = None
        self._thread: threading.Thread | None = None

    def start(self, dashboard_url: str) -> None:
        from aiosmtpd.controller import Controller  # the demo extra
        from aiosmtpd.handlers import Mailbox

        # aiosmtpd logs every SMTP command at INFO: the demo's console is for the newcomer, not the protocol.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        controller = Controller(Mailbox(self.mailbox), hostname="127.0.0.1", port=free_port())
        controller.start()
        self._controller = controller
        db = connect(self.db_path)
        user = find_user(db, self.admin_login)
        if user is not None:
            set_email(db, user.id, ADMIN_EMAIL)  # admins receive every kind by default
        db.close()
        settings = DeliverySettings(smtp_host="127.0.0.1", smtp_port=int(controller.port),
                                    smtp_security=Security.NONE, smtp_from=SENDER, base_url=dashboard_url)
        self.service = service = AlertService(self.db_path, self.every_s, delivery=settings)
        self._thread = threading.Thread(target=service.run, name="demo-alerts", daemon=True)
        self._thread.start()

    def messages(self) -> list[Path]:
        folder = self.mailbox / "new"
        return sorted(folder.iterdir()) if folder.is_dir() else []

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
        if self._thread is not None:
            self._thread.join(10)
        if self._controller is not None:
            self._controller.stop()
