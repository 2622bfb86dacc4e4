"""Shared fixtures: a real Mosquitto per test, the collector stack, kiosks on mock pins."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from collector.db import connect
from collector.ingest import IngestService
from collector.registry import add_kiosk, add_site
from collector.service import WebServer
from collector.tokens import TokenKind, create_token
from collector.web import create_app
from kiosk.buttons import ButtonBox
from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox
from kiosk.pinmap import load_pinmap
from ressenti.mosquitto_runner import Mosquitto, MosquittoError
from ressenti.mosquitto_runner import start_mosquitto as _start_mosquitto
from ressenti.mqtt import BrokerAddress
from ressenti.protocol import Clock, KioskSettings

ARTIFACTS = Path(os.environ.get("RESSENTI_TEST_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `predicate` until true; fail the test with `what` after `timeout` seconds."""
    tick = threading.Event()
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        tick.wait(0.02)


@pytest.fixture
def wait() -> Callable[..., None]:
    return wait_until


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def start_mosquitto(directory: Path, extra_config: str = "") -> Mosquitto:
    try:
        return _start_mosquitto(directory, extra_config)
    except MosquittoError as exc:
        pytest.fail(f"{exc} (.ci/run installs it)")


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[Callable[..., Mosquitto]]:
    started: list[Mosquitto] = []

    def factory(extra_config: str = "") -> Mosquitto:
        broker = start_mosquitto(tmp_path / f"mosquitto-{len(started)}", extra_config)
        started.append(broker)
        return broker

    yield factory
    for broker in started:
        broker.stop()


@pytest.fixture
def mosquitto(mosquitto_factory: Callable[..., Mosquitto]) -> Mosquitto:
    return mosquitto_factory()


@pytest.fixture
def mock_factory() -> Iterator[MockFactory]:
    factory = MockFactory()
    previous = Device.pin_factory
    Device.pin_factory = factory
    yield factory
    factory.reset()
    Device.pin_factory = previous


class CollectorStack:
    """Ingest plus web against a broker, with one site registered; can be stopped and restarted."""

    def __init__(self, db_path: Path, broker: BrokerAddress) -> None:
        self.db_path = db_path
        self.broker = broker
        db = connect(db_path)
        add_site(db, "mairie", "Mairie de Test", scale=4)
        _, self.admin_token = create_token(db, TokenKind.ADMIN, label="tests")
        db.close()
        self.ingest: IngestService | None = None
        self.web: WebServer | None = None

    def register(self, kiosk_id: str, site: str = "mairie") -> None:
        db = connect(self.db_path)
        add_kiosk(db, kiosk_id, site)
        db.close()

    def start(self) -> CollectorStack:
        self.ingest = IngestService(self.db_path, self.broker)
        self.ingest.start()
        assert self.ingest.ready.wait(10), "ingest did not connect"
        app = create_app({"DATABASE": str(self.db_path), "BROKER_URL": self.broker.url,
                          "SECRET_KEY": secrets.token_hex(16)})
        self.web = WebServer(app, "127.0.0.1", 0)
        self.web.start()
        return self

    def stop(self) -> None:
        if self.web:
            self.web.stop()
        if self.ingest:
            self.ingest.stop()
        self.web = self.ingest = None

    def summary(self, site: str = "mairie") -> dict:
        """Today's summary as the dashboard sees it (an admin token: a handful of presses is not withheld)."""
        assert self.web is not None
        return self.web.app.test_client().get(f"/api/v1/sites/{site}/summary",
                                              headers={"Authorization": f"Bearer {self.admin_token}"}).get_json()


@pytest.fixture
def collector_stack_factory(tmp_path: Path) -> Iterator[Callable[[BrokerAddress], CollectorStack]]:
    stacks: list[CollectorStack] = []

    def factory(broker: BrokerAddress) -> CollectorStack:
        stacks.append(CollectorStack(tmp_path / f"collector-{len(stacks)}.db", broker))
        return stacks[-1]

    yield factory
    for stack in stacks:
        stack.stop()


@pytest.fixture
def collector_stack(collector_stack_factory, mosquitto: Mosquitto) -> CollectorStack:
    return collector_stack_factory(mosquitto.address)


@dataclass
class TestKiosk:
    kiosk: Kiosk
    link: Link
    box: ButtonBox
    pins: MockFactory

    def press(self, position: int = 1) -> None:
        pin = self.pins.pin(self.box.pinmap.slots[position - 1].button.bcm)
        pin.drive_low()
        pin.drive_high()

    def led_on(self, position: int) -> bool:
        return bool(self.pins.pin(self.box.pinmap.slots[position - 1].led.bcm).state)

    @property
    def pending(self) -> int:
        return self.kiosk.outbox.state().pending


@pytest.fixture
def kiosk_factory(tmp_path: Path) -> Iterator[Callable[..., TestKiosk]]:
    made: list[TestKiosk] = []

    def factory(kiosk_id: str, broker: BrokerAddress, *, site: str = "mairie", scale: int = 4,
                ack_timeout_s: float = 2.0, start: bool = True) -> TestKiosk:
        outbox = Outbox(tmp_path / "kiosks" / kiosk_id / "outbox.db")
        kiosk = Kiosk(kiosk_id, site, outbox, settings=KioskSettings(scale=scale),
                      clock=ClockState(Clock.NTP))
        link = Link(kiosk, broker, ack_timeout_s=ack_timeout_s, heartbeat_s=5)
        pins = MockFactory()
        # No debounce: the tests press faster than any hand.
        box = ButtonBox(kiosk, pin_factory=pins, bounce_time=None, is_online=link.connected.is_set)
        made.append(TestKiosk(kiosk, link, box, pins))
        if start:
            link.start()
        return made[-1]

    yield factory
    for k in made:
        k.box.close()
        k.link.stop()
        k.kiosk.outbox.close()
        k.pins.reset()


@pytest.fixture(scope="session")
def pinmap():
    return load_pinmap()


@pytest.fixture
def app(tmp_path: Path):
    """A collector web app on a throw-away database, without a broker."""
    application = create_app({"TESTING": True, "DATABASE": str(tmp_path / "web.db"),
                              "SECRET_KEY": "test", "BROKER_URL": None})
    yield application
    application.extensions["ressenti_live"].stop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin_headers(app) -> dict[str, str]:
    from collector.tokens import TokenKind, create_token
    db = connect(app.config["DATABASE"])
    _, secret = create_token(db, TokenKind.ADMIN, label="tests")
    db.close()
    return {"Authorization": f"Bearer {secret}"}


# -- web: a shared headless Chromium (issue 6) -------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """The system Chromium through Playwright (never `playwright install`)."""
    playwright = pytest.importorskip("playwright.sync_api")
    from web_support import CHROMIUM_ARGS
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# -- storage on both engines (issue 16) ------------------------------------------------------


@pytest.fixture(scope="session")
def pg_server():
    """One real PostgreSQL for the session (tests/pg_support.py)."""
    from pg_support import remove_pg_server, start_pg_server
    server = start_pg_server()
    os.environ["RESSENTI_DB_PASSWORD_FILE"] = str(server.password_file)
    yield server
    os.environ.pop("RESSENTI_DB_PASSWORD_FILE", None)
    remove_pg_server(server)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request, tmp_path: Path) -> str:
    """Where a storage test's database is: a SQLite file, or a fresh PostgreSQL database (its URL)."""
    if request.param == "sqlite":
        return str(tmp_path / "collector.db")
    from pg_support import fresh_database
    return fresh_database(request.getfixturevalue("pg_server"))
