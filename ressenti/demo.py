"""`ressenti demo`: broker, collector and simulated button-box kiosks in one process.

The simulated kiosks run the real firmware (core, outbox, link, gpiozero
button box); only the pins are gpiozero's MockFactory, pressed by simulated
visitors at human intervals, now and then a child pressing in a burst.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gpiozero.pins.mock import MockFactory
from sqlite_utils import Database

from collector.db import connect
from collector.registry import add_kiosk, add_org, add_site, get_site
from collector.service import Collector
from collector.store import store_batch
from collector.users import Role, add_user, find_user, set_password
from collector.walls import create_wall
from kiosk.buttons import ButtonBox
from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox
from kiosk.pinmap import load_pinmap, rating_for_position
from ressenti.mqtt import BrokerAddress, parse_broker_url
from ressenti.protocol import Clock, KioskSettings, decode_batch, encode_batch, format_ts, utc_now

log = logging.getLogger(__name__)

DEMO_ORG = "demo-ville"
DEMO_ADMIN = "demo-admin"
DEMO_SITES = [
    ("mairie-centre", "Mairie — accueil central", 4),
    ("france-services-nord", "France Services Nord", 4),
    ("ccas-solidarites", "CCAS — solidarités", 3),
]
# Chance of each position being pressed, best face first: most visits go well.
MOOD = {3: [0.62, 0.25, 0.13], 4: [0.48, 0.3, 0.14, 0.08]}


@dataclass
class SimulatedKiosk:
    kiosk: Kiosk
    link: Link
    box: ButtonBox
    pins: MockFactory

    def press_position(self, position: int) -> int:
        slot = self.box.pinmap.slots[position - 1]
        pin = self.pins.pin(slot.button.bcm)
        pin.drive_low()
        pin.drive_high()
        return rating_for_position(position, self.kiosk.settings.scale)

    def stop(self) -> None:
        self.box.close()
        self.link.stop()
        self.kiosk.outbox.close()


def start_simulated_kiosk(kiosk_id: str, site: str, scale: int, broker: BrokerAddress,
                          data_dir: Path) -> SimulatedKiosk:
    outbox = Outbox(data_dir / "kiosks" / kiosk_id / "outbox.db")
    kiosk = Kiosk(kiosk_id, site, outbox, settings=KioskSettings(scale=scale),
                  clock=ClockState(Clock.NTP))
    link = Link(kiosk, broker, heartbeat_s=30)
    pins = MockFactory()
    box = ButtonBox(kiosk, pin_factory=pins, is_online=link.connected.is_set)
    link.start()
    return SimulatedKiosk(kiosk, link, box, pins)


def visitor_loop(sim: SimulatedKiosk, stop: threading.Event, mean_gap_s: float, rng: random.Random) -> None:
    scale = sim.kiosk.settings.scale
    weights = MOOD.get(scale, [1 / scale] * scale)
    # Visitors leave a desk at least a few seconds apart (past the kiosk's
    # 4 s response interval); only the occasional child's burst gets flagged.
    while not stop.wait(4.5 + rng.expovariate(1 / mean_gap_s)):
        position = rng.choices(range(1, scale + 1), weights)[0]
        presses = rng.randint(3, 6) if rng.random() < 0.04 else 1  # a child's burst
        for _ in range(presses):
            sim.press_position(position)
            if stop.wait(0.3):
                return


def seed_history(db: Database, placements: list[tuple[str, str, int]], days: int, rng: random.Random) -> int:
    """Past weeks of simulated answers, stored through the collector's own store, so the dashboard
    and the wall's trend have something to show. Each kiosk gets its own "history" epoch."""
    now = utc_now()
    stored = 0
    for kiosk_id, site_id, scale in placements:
        site = get_site(db, site_id)
        assert site is not None
        weights = MOOD.get(scale, [1 / scale] * scale)
        events = []
        for back in range(days, 0, -1):
            day = (now - timedelta(days=back)).astimezone(site.zone).date()
            if day.weekday() == 6:
                continue  # closed on Sundays
            for _ in range(rng.randint(8, 30)):
                hour = rng.choice((8, 9, 9, 10, 10, 11, 11, 12, 14, 14, 15, 16, 17))
                moment = datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=site.zone)
                position = rng.choices(range(1, scale + 1), weights)[0]
                events.append((moment.astimezone(UTC), scale + 1 - position))
        events.sort()
        epoch = str(uuid.uuid4())
        for start in range(0, len(events), 500):
            chunk = [{"id": str(uuid.uuid4()), "seq": start + i + 1, "ts": format_ts(ts), "clock": "ntp",
                      "boot": "history", "up_ms": 0, "question": "overall", "scale": scale, "rating": rating,
                      "input": "button", "flags": ["rapid_repeat"] if rng.random() < 0.04 else [],
                      "followup": None, "lang": "fr"} for i, (ts, rating) in enumerate(events[start:start + 500])]
            batch = decode_batch(encode_batch(kiosk=kiosk_id, site=site_id, epoch=epoch, boot="history",
                                              up_ms=0, events=chunk))
            store_batch(db, batch, site=site, received_at=now, topic="demo history")
        stored += len(events)
    return stored


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
    """What `ressenti demo` prints: the wall display's link and a dashboard login."""

    wall_url: str
    dashboard_url: str
    login: str
    password: str


class Demo:
    def __init__(self, *, port: int = 8080, kiosks: int = 6, broker_url: str | None = None,
                 data_dir: Path = Path("demo-data"), host: str = "127.0.0.1",
                 mean_gap_s: float = 4.0, seed: int | None = None, history_days: int = 28) -> None:
        self.port, self.host, self.kiosk_count = port, host, kiosks
        self.broker_url = broker_url
        self.data_dir = Path(data_dir)
        self.mean_gap_s = mean_gap_s
        self.history_days = history_days
        self.rng = random.Random(seed)
        self.embedded = None
        self.collector: Collector | None = None
        self.kiosks: list[SimulatedKiosk] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> DemoAccess:
        if self.broker_url is None:
            from ressenti.embedded_broker import EmbeddedBroker
            self.embedded = EmbeddedBroker()
            self.embedded.start()
            self.broker_url = self.embedded.url
        broker = parse_broker_url(self.broker_url)
        db_path = self.data_dir / "collector.db"
        db = connect(db_path)
        placements = []
        add_org(db, DEMO_ORG, "Ville de Démo")  # a name to show instead of the id
        for n in range(self.kiosk_count):
            site_id, name, scale = DEMO_SITES[n % len(DEMO_SITES)]
            add_site(db, site_id, name, org=DEMO_ORG, scale=scale)
            kiosk_id = f"{site_id}-borne-{n // len(DEMO_SITES) + 1}"
            add_kiosk(db, kiosk_id, site_id)
            placements.append((kiosk_id, site_id, scale))
        if self.history_days and not db["events"].count:
            seed_history(db, placements, self.history_days, random.Random(self.rng.random()))
        _, wall_secret = create_wall(db, DEMO_ORG, "ressenti demo")
        login, password = demo_login(db)
        db.close()
        self.collector = Collector(db_path, broker, host=self.host, port=self.port,
                                   secret_key=secrets.token_hex(32))
        # The demo serves plain http on this machine: a Secure cookie would never come back.
        self.collector.web.app.config["SESSION_COOKIE_SECURE"] = False
        # The demo runs on 127.0.0.1 for whoever started it: /wall shows every site
        # without a link or login (production walls need a token, /wall/<token>).
        self.collector.web.app.config["PUBLIC_WALL"] = True
        self.collector.start()
        load_pinmap()  # fail early on a broken pin map
        for kiosk_id, site_id, scale in placements:
            sim = start_simulated_kiosk(kiosk_id, site_id, scale, broker, self.data_dir)
            self.kiosks.append(sim)
            thread = threading.Thread(target=visitor_loop, name=f"visitors-{kiosk_id}", daemon=True,
                                      args=(sim, self._stop, self.mean_gap_s, random.Random(self.rng.random())))
            thread.start()
            self._threads.append(thread)
        url = self.collector.web.url
        return DemoAccess(f"{url}/wall/{wall_secret}", f"{url}/dashboard", login, password)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        for sim in self.kiosks:
            sim.stop()
        if self.collector:
            self.collector.stop()
        if self.embedded:
            self.embedded.stop()
