"""`ressenti demo`: broker, collector, simulated kiosks and a web form in one process.

The simulated kiosks run the real firmware (core, outbox, link; the
gpiozero button box on mock pins, or the touch screen's commit path with
its follow-up question); a web form posts over the HTTP API. What they
simulate (sites, opening hours, volumes) is in `demo/world.py`,
the past weeks in `demo/history.py`, the live visitors in `demo/visitors.py`,
the alerts service and its local mailbox in `demo/mail.py`.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils import Database

from collector.config_push import push_settings
from collector.db import connect
from collector.registry import add_kiosk, add_org, add_site
from collector.service import Collector
from collector.tokens import TokenKind, create_token, list_tokens, revoke_token
from collector.users import Role, add_user, find_user, set_password
from collector.walls import create_wall
from demo.history import seed_history
from demo.lock import DataDirLock
from demo.mail import DemoMail
from demo.visitors import Simulated, WebForm, start_simulated, visitor_loop, web_loop
from demo.world import (
    DEMO_ORG,
    UNHAPPY_SITE,
    UNHAPPY_SPELL_S,
    WEB_SOURCE,
    DemoSite,
    Front,
    Placement,
    placements,
    touch_settings,
)
from kiosk.pinmap import load_pinmap
from ressenti.errors import RessentiError
from ressenti.mqtt import BrokerAddress, make_client, parse_broker_url

if TYPE_CHECKING:
    from ressenti.embedded_broker import EmbeddedBroker

log = logging.getLogger(__name__)

DEMO_ADMIN = "demo-admin"
DATA_VERSION = "2"  # what the data folder holds: 2 = sites with hours, touch and web (issue 18)
WEB_FORM_LABEL = "ressenti demo web form"


def register(db: Database, kiosks: list[Placement]) -> None:
    """The sites (with their scale and opening hours) and kiosks; a site kept from an earlier run is updated."""
    sites: dict[str, DemoSite] = {p.site.id: p.site for p in kiosks}
    for site in sites.values():
        add_site(db, site.id, site.name, org=DEMO_ORG, tz=site.zone.key, scale=site.scale, opening_hours=site.hours)
    for placement in kiosks:
        add_kiosk(db, placement.kiosk, placement.site.id)


def web_form_token(db: Database, kiosks: list[Placement]) -> str | None:
    """Register the web form (an HTTP source) when its site is shown; a fresh token, the last one revoked."""
    source_id, site_id = WEB_SOURCE
    if site_id not in {p.site.id for p in kiosks}:
        return None
    add_kiosk(db, source_id, site_id, "Formulaire web", channel="web")
    for token in list_tokens(db):
        if token["kind"] == TokenKind.SOURCE and token["subject"] == source_id and not token["revoked"]:
            revoke_token(db, token["id"])
    return create_token(db, TokenKind.SOURCE, source_id, WEB_FORM_LABEL)[1]


def push_touch_settings(db_path: Path, broker: BrokerAddress, touch: list[Placement]) -> None:
    """The collector pushes the touch kiosks their follow-up question, as an admin would from the fleet page."""
    if not touch:
        return
    client = make_client(f"ressenti-demo-admin-{secrets.token_hex(4)}", broker)
    connected = threading.Event()
    client.on_connect = lambda *_: connected.set()
    client.connect_async(broker.host, broker.port)
    client.loop_start()
    try:
        if not connected.wait(10):
            log.warning("could not reach the broker to push the touch kiosks' follow-up question")
            return
        db = connect(db_path)
        for placement in touch:
            push_settings(db, client, [(placement.kiosk, placement.site.id)], touch_settings(placement.site.scale),
                          pushed_by="ressenti demo")
        db.close()
    finally:
        client.disconnect()
        client.loop_stop()


def _url_from_here(host: str, port: int) -> str:
    """How this process reaches its own web server bound to `host`."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host.strip('[]')}]:{port}" if ":" in host else f"http://{host}:{port}"


def demo_login(db: Database) -> tuple[str, str]:
    """The demo's admin login, with a new random password each start (printed once, never stored)."""
    password = secrets.token_urlsafe(12)
    user = find_user(db, DEMO_ADMIN)
    if user is None:
        add_user(db, DEMO_ADMIN, password, Role.ADMIN)
    else:
        set_password(db, user.id, password)
    return DEMO_ADMIN, password


@dataclass
class DemoAccess:
    """What `ressenti demo` prints: the wall display's link, a dashboard login and the alert e-mails' folder."""

    wall_url: str
    dashboard_url: str
    login: str
    password: str
    mailbox: Path


def is_loopback(host: str) -> bool:
    """Only this machine can reach a server bound here (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


class DemoExposed(RessentiError, PermissionError):
    """The demo would serve its open wall and plain cookies beyond this machine."""


class Demo:
    def __init__(self, *, port: int = 8080, kiosks: int = 6, broker_url: str | None = None,
                 data_dir: Path = Path("demo-data"), host: str = "127.0.0.1",
                 mean_gap_s: float = 4.0, seed: int | None = None, history_days: int = 28,
                 allow_network: bool = False, alerts_every_s: float = 15.0) -> None:
        # Issue 17: an open /wall and non-Secure cookies are for loopback only. Elsewhere the
        # demo starts only when asked to, with walls by token and the production cookie settings.
        self.local = is_loopback(host)
        if not self.local and not allow_network:
            raise DemoExposed(
                f"--host {host} is not a loopback address: the demo opens /wall to anyone and sends "
                "its session cookie without Secure only on this machine; use --host 127.0.0.1, or add "
                "--allow-network to serve walls by their token link only (the dashboard login then needs "
                "HTTPS in front: see docs/provisioning.md)")
        self.port, self.host, self.kiosk_count = port, host, kiosks
        self.broker_url = broker_url
        self.data_dir = Path(data_dir)
        self.mean_gap_s = mean_gap_s
        self.history_days = history_days
        self.rng = random.Random(seed)
        self.embedded: EmbeddedBroker | None = None
        self.collector: Collector | None = None
        self.kiosks: list[Simulated] = []
        self.web_form: WebForm | None = None
        self.alerts_every_s = alerts_every_s
        self.mail: DemoMail | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.lock = DataDirLock(self.data_dir)

    def start(self) -> DemoAccess:
        """Start everything; on any failure, stop what was started and raise."""
        self.lock.acquire()
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> DemoAccess:
        if self.broker_url is None:
            from ressenti.embedded_broker import EmbeddedBroker  # amqtt: the demo extra
            self.embedded = embedded = EmbeddedBroker()
            embedded.start()
            self.broker_url = embedded.url
        broker = parse_broker_url(self.broker_url)
        db_path = self.data_dir / "collector.db"
        marker = self.data_dir / "demo-version"
        if db_path.exists() and (not marker.exists() or marker.read_text().strip() != DATA_VERSION):
            log.warning("%s was made by an earlier demo: its past weeks lack the touch, web and opening-hours "
                        "data of this one; delete the folder (rm -r %s) to start afresh", self.data_dir, self.data_dir)
        db = connect(db_path)
        marker.write_text(DATA_VERSION + "\n")
        kiosks = placements(self.kiosk_count)
        add_org(db, DEMO_ORG, "Ville de Démo")  # a name to show instead of the id
        register(db, kiosks)
        web_token = web_form_token(db, kiosks)
        if self.history_days and not db["events"].count:
            seed_history(db, kiosks, self.history_days, random.Random(self.rng.random()),
                         web_source=web_token is not None)
        _, wall_secret = create_wall(db, DEMO_ORG, "ressenti demo")
        login, password = demo_login(db)
        db.close()
        collector = Collector(db_path, broker, host=self.host, port=self.port,
                              secret_key=secrets.token_hex(32))
        if self.local:
            # Plain http on this machine: a Secure cookie would never come back.
            collector.web.app.config["SESSION_COOKIE_SECURE"] = False
            # For whoever started it: /wall shows every site without a link or login
            # (production walls, and a demo with --allow-network, need /wall/<token>).
            collector.web.app.config["PUBLIC_WALL"] = True
        collector.start()
        self.collector = collector  # only a started collector is stopped
        push_touch_settings(db_path, broker, [p for p in kiosks if p.front is Front.TOUCH])
        load_pinmap()  # fail early on a broken pin map
        self.mail = DemoMail(self.data_dir, db_path, login, self.alerts_every_s)
        self.mail.start(f"{collector.web.url}")
        unhappy_until = time.monotonic() + UNHAPPY_SPELL_S
        for placement in kiosks:
            simulated = start_simulated(placement, broker, self.data_dir)
            if placement.site.id == UNHAPPY_SITE:
                simulated.unhappy_until = unhappy_until
            self.kiosks.append(simulated)
            self._thread(visitor_loop, f"visitors-{placement.kiosk}", simulated)
        url = _url_from_here(self.host, collector.web.port)
        if web_token is not None:
            source_id, site_id = WEB_SOURCE
            site = next(p.site for p in kiosks if p.site.id == site_id)
            self.web_form = WebForm(source_id, site, url, web_token)
            self._thread(web_loop, f"web-form-{source_id}", self.web_form)
        return DemoAccess(f"{collector.web.url}/wall/{wall_secret}", f"{collector.web.url}/dashboard",
                          login, password, self.mail.mailbox / "new")

    def _thread(self, loop, name: str, simulated) -> None:  # type: ignore[no-untyped-def]
        thread = threading.Thread(target=loop, name=name, daemon=True,
                                  args=(simulated, self._stop, self.mean_gap_s, random.Random(self.rng.random())))
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        for sim in self.kiosks:
            sim.stop()
        if self.mail:
            self.mail.stop()
        if self.collector:
            self.collector.stop()
        if self.embedded:
            self.embedded.stop()
        self.lock.release()
