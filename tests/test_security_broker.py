"""The broker as deploy/ configures it, attacked: the broker role's files rendered by Ansible for a
test inventory, loaded into a real Mosquitto, and real paho clients with the deployment's credentials.

Threats: a stolen kiosk (its password and the CA are on its card), a compromised web
process (it faces the network), a compromised ingest. Each test is named after what it stops.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from deploy_support import render
from deploy_support.mqtt_clients import TestClient

from collector.config_push import push_settings
from collector.db import connect
from collector.ingest import IngestService
from collector.registry import add_kiosk, add_site
from collector.web import create_app
from ressenti.mosquitto_runner import Mosquitto, free_port, start_mosquitto
from ressenti.mqtt import BrokerAddress, parse_broker_url
from ressenti.protocol import KioskSettings, encode_batch, format_ts, utc_now

KIOSKS = {  # inventory host -> hostvars
    "box-1": {"ressenti_kiosk_id": "mairie-1", "ressenti_kiosk_site": "mairie", "ressenti_kiosk_frontend": "buttons"},
    "box-2": {"ressenti_kiosk_id": "mairie-2", "ressenti_kiosk_site": "mairie", "ressenti_kiosk_frontend": "buttons"},
    "box-3": {"ressenti_kiosk_id": "ccas-1", "ressenti_kiosk_site": "ccas", "ressenti_kiosk_frontend": "buttons"},
}
SITES = [{"id": "mairie", "name": "Mairie"}, {"id": "ccas", "name": "CCAS"}]
PACKET_LIMIT = 270000  # ressenti_broker_max_packet_size's default


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[render.Rendered, dict[str, int]]]:
    base = tmp_path_factory.mktemp("broker-render")
    ports = {"tls": free_port(), "local": free_port()}
    inventory = render.inventory(base, {k: dict(v) for k, v in KIOSKS.items()},
                                 {"ressenti_broker_hostname": "localhost", "ressenti_sites": SITES})
    render.make_secrets(base, inventory)
    yield render.render_broker(base, inventory, {"ressenti_broker_tls_port": ports["tls"],
                                                 "ressenti_broker_tls_bind_address": "127.0.0.1",
                                                 "ressenti_broker_local_port": ports["local"]}), ports


@pytest.fixture
def broker(rendered: tuple[render.Rendered, dict[str, int]], tmp_path: Path) -> Iterator[Mosquitto]:
    """Mosquitto 2.0 with the rendered conf.d, as Debian's mosquitto.conf includes it."""
    files, ports = rendered
    process = start_mosquitto(tmp_path / "mosquitto", f"include_dir {files.out / 'conf.d'}\n",
                              port=ports["local"], default_listener=False)
    yield process
    process.stop()


class Accounts:
    """Clients logging in with the credentials the secrets role made."""

    def __init__(self, rendered: tuple[render.Rendered, dict[str, int]]) -> None:
        self.files, self.ports = rendered
        self.clients: list[TestClient] = []

    def password(self, user: str) -> str:
        return (self.files.secrets / f"mqtt/{user}.password").read_text().strip()

    def url(self, user: str) -> str:
        return f"mqtt://{user}:{self.password(user)}@127.0.0.1:{self.ports['local']}"

    def kiosk_address(self, kiosk: str, password: str | None = None) -> BrokerAddress:
        return BrokerAddress("localhost", self.ports["tls"], tls=True, username=kiosk,
                             password=password or self.password(kiosk), ca_file=str(self.files.out / "ca.crt"))

    def kiosk(self, kiosk: str, client_id: str | None = None) -> TestClient:
        client = self._keep(TestClient(client_id or f"ressenti-kiosk-{kiosk}", username=kiosk,
                                       password=self.password(kiosk), ca_file=str(self.files.out / "ca.crt")))
        assert client.connect("localhost", self.ports["tls"]), client.refusal
        return client

    def local(self, user: str, client_id: str | None = None, password: str | None = None,
              connect: bool = True) -> TestClient:
        client = self._keep(TestClient(client_id or f"test-{user}-{uuid.uuid4().hex[:6]}", username=user,
                                       password=password or self.password(user)))
        if connect:
            assert client.connect("127.0.0.1", self.ports["local"]), client.refusal
        return client

    def _keep(self, client: TestClient) -> TestClient:
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()


@pytest.fixture
def accounts(rendered: tuple[render.Rendered, dict[str, int]], broker: Mosquitto) -> Iterator[Accounts]:
    made = Accounts(rendered)
    yield made
    made.close()


def topic(site: str, kiosk: str, kind: str) -> str:
    return f"ressenti/v1/{site}/{kiosk}/{kind}"


def marker(what: str) -> bytes:
    return f"{what}-{uuid.uuid4()}".encode()


def retained_seen_by_a_fresh_ingest(accounts: Accounts) -> list[tuple[str, bytes]]:
    """What a collector re-subscribing now gets from the broker's retained store (all of it)."""
    ingest = accounts.local("ressenti_ingest")
    ingest.subscribe("ressenti/v1/+/+/events")
    ingest.subscribe("ressenti/v1/+/+/status")
    end = marker("end")
    accounts.kiosk("ccas-1").publish(topic("ccas", "ccas-1", "events"), end)  # a live message, after the retained
    assert ingest.wait_for(end)
    return [(t, p) for t, p in ingest.messages if p != end]


def test_stolen_kiosk_cannot_publish_under_invented_sites_or_other_kiosk_ids(accounts: Accounts) -> None:
    stolen = accounts.kiosk("mairie-1")
    forged = {topic("invented-site", "mairie-1", "status"): marker("invented-site"),
              topic("ccas", "mairie-1", "events"): marker("other-site"),
              topic("mairie", "invented-kiosk", "status"): marker("invented-kiosk"),
              topic("mairie", "mairie-2", "status"): marker("neighbour")}
    for name, payload in forged.items():
        stolen.publish(name, payload, retain=True)
    own = marker("own-status")
    stolen.publish(topic("mairie", "mairie-1", "status"), own, retain=True)
    seen = retained_seen_by_a_fresh_ingest(accounts)
    assert seen == [(topic("mairie", "mairie-1", "status"), own)]


def test_stolen_kiosk_cannot_grow_the_brokers_retained_store(accounts: Accounts) -> None:
    """200 x 200 KB under invented sites made the broker grow 10 -> 48 MB: now its own two topics keep one each."""
    stolen = accounts.kiosk("mairie-1")
    big = b"x" * 200_000
    for n in range(40):
        stolen.publish(topic(f"site-{n}", "mairie-1", "status"), big, retain=True)
        stolen.publish(topic("mairie", "mairie-1", "status" if n % 2 else "events"), big + str(n).encode(),
                       retain=True)
    seen = retained_seen_by_a_fresh_ingest(accounts)
    assert sorted(t for t, _ in seen) == [topic("mairie", "mairie-1", "events"), topic("mairie", "mairie-1", "status")]
    assert sum(len(p) for _, p in seen) <= 2 * PACKET_LIMIT


def test_oversized_publish_is_refused_by_the_broker(accounts: Accounts) -> None:
    stolen = accounts.kiosk("mairie-1")
    stolen.client.publish(topic("mairie", "mairie-1", "status"), b"x" * (PACKET_LIMIT + 1), qos=1, retain=True)
    assert stolen.disconnected.wait(5), "a packet past max_packet_size ends the connection"
    assert retained_seen_by_a_fresh_ingest(accounts) == []


def test_kiosk_password_on_loopback_cannot_take_over_the_ingest_session(accounts: Accounts) -> None:
    ingest = accounts.local("ressenti_ingest", client_id="ressenti-ingest-1")
    intruder = accounts.local("mairie-1", client_id="ressenti-ingest-1", connect=False)
    assert not intruder.connect("127.0.0.1", accounts.ports["local"]), "a kiosk account opened the loopback listener"
    assert intruder.refusal and "authorized" in intruder.refusal.lower(), intruder.refusal
    assert not ingest.disconnected.wait(1), "the kiosk's attempt threw ingest off"
    # Nor may the collector's accounts log in on the kiosks' listener.
    outsider = accounts._keep(TestClient("web-from-outside", username="ressenti_web",
                                         password=accounts.password("ressenti_web"),
                                         ca_file=str(accounts.files.out / "ca.crt")))
    assert not outsider.connect("localhost", accounts.ports["tls"])


def test_stolen_kiosk_cannot_take_over_the_collectors_client_ids(accounts: Accounts) -> None:
    """On the kiosks' listener the username replaces the client id."""
    ingest = accounts.local("ressenti_ingest", client_id="ressenti-ingest-1")
    accounts.kiosk("mairie-1", client_id="ressenti-ingest-1")
    assert not ingest.disconnected.wait(1.5), "the kiosk's connection threw ingest off"


def test_compromised_web_cannot_read_events_nor_forge_acks_statuses_or_events(accounts: Accounts) -> None:
    web = accounts.local("ressenti_web")
    # Mosquitto 2.0.11 grants the subscription and then delivers nothing the ACL denies.
    web.subscribe("ressenti/v1/+/+/events")
    web.subscribe("ressenti/v1/+/+/status")
    kiosk = accounts.kiosk("mairie-1")
    kiosk.subscribe(topic("mairie", "mairie-1", "ack"))
    kiosk.subscribe(topic("mairie", "mairie-1", "config"))
    ingest = accounts.local("ressenti_ingest")
    ingest.subscribe("ressenti/v1/+/+/events")
    ingest.subscribe("ressenti/v1/+/+/status")
    forged = [marker("ack"), marker("events"), marker("status")]
    web.publish(topic("mairie", "mairie-1", "ack"), forged[0])
    web.publish(topic("mairie", "mairie-1", "events"), forged[1])
    web.publish(topic("mairie", "mairie-1", "status"), forged[2], retain=True)
    config = marker("config")
    web.publish(topic("mairie", "mairie-1", "config"), config, retain=True)  # its job
    assert kiosk.wait_for(config)
    events, status = marker("kiosk-events"), marker("kiosk-status")
    kiosk.publish(topic("mairie", "mairie-1", "status"), status, retain=True)
    kiosk.publish(topic("mairie", "mairie-1", "events"), events)
    assert ingest.wait_for(status) and ingest.wait_for(events)
    assert not any(kiosk.got(m) or ingest.got(m) for m in forged), (kiosk.messages, ingest.messages)
    assert not web.got(events) and not web.got(status), web.messages


def test_compromised_ingest_cannot_push_kiosk_configs(accounts: Accounts) -> None:
    ingest = accounts.local("ressenti_ingest")
    kiosk = accounts.kiosk("mairie-1")
    kiosk.subscribe(topic("mairie", "mairie-1", "config"))
    kiosk.subscribe(topic("mairie", "mairie-1", "ack"))
    forged = marker("forged-config")
    ingest.publish(topic("mairie", "mairie-1", "config"), forged, retain=True)
    ack = marker("ack")
    ingest.publish(topic("mairie", "mairie-1", "ack"), ack)  # its job
    assert kiosk.wait_for(ack)
    assert not kiosk.got(forged)
    fresh = accounts.kiosk("mairie-1", client_id="other")  # the retained store has no such config either
    fresh.subscribe(topic("mairie", "mairie-1", "config"))
    assert not fresh.wait_for(forged, timeout=1)


def test_collector_accounts_cannot_write_retained_data_outside_the_inventorys_topics(accounts: Accounts) -> None:
    """A compromised web or ingest cannot leave configs or acks under invented sites either."""
    web, ingest = accounts.local("ressenti_web"), accounts.local("ressenti_ingest")
    forged = []
    for n in range(5):
        forged += [marker("config"), marker("ack")]
        web.publish(topic(f"site-{n}", "mairie-2", "config"), forged[-2], retain=True)
        ingest.publish(topic(f"site-{n}", "mairie-2", "ack"), forged[-1], retain=True)
    web.publish(topic("mairie", "mairie-2", "config"), b"allowed", retain=True)
    kiosk = accounts.kiosk("mairie-2")
    kiosk.subscribe("ressenti/v1/+/mairie-2/config")  # whatever the broker kept, under any site
    kiosk.subscribe("ressenti/v1/+/mairie-2/ack")
    assert kiosk.wait_for(b"allowed")
    threading.Event().wait(0.5)
    assert [p for _, p in kiosk.messages] == [b"allowed"], kiosk.messages


# -- the collector's own code, with the accounts the role gives it ---------------------------------


def _event(seq: int) -> dict:
    return {"id": str(uuid.uuid4()), "seq": seq, "ts": format_ts(utc_now()), "clock": "ntp", "boot": "b",
            "up_ms": 1000, "question": "overall", "scale": 4, "rating": 3, "input": "button", "flags": [],
            "followup": None, "lang": "fr"}


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "collector.db"
    db = connect(path)
    for site in SITES:
        add_site(db, site["id"], site["name"])
    for hostvars in KIOSKS.values():
        add_kiosk(db, hostvars["ressenti_kiosk_id"], hostvars["ressenti_kiosk_site"])
    db.close()
    return path


@pytest.fixture
def services() -> Iterator[Callable[[object], object]]:
    started: list = []

    def keep(service):  # type: ignore[no-untyped-def]
        started.append(service)
        return service

    yield keep
    for service in reversed(started):
        service.stop()


def test_retained_events_batch_is_not_stored_from_the_retained_store(accounts: Accounts, database: Path,
                                                                      services: Callable) -> None:
    """A stolen kiosk retains a batch on its own events topic (the broker cannot forbid the flag):
    every ingest (re)subscribe would get it again; ingest files it as rejected once and stores nothing."""
    stolen = accounts.kiosk("mairie-1")
    batch = encode_batch(kiosk="mairie-1", site="mairie", epoch=str(uuid.uuid4()), boot="b", up_ms=2000,
                         events=[_event(1)])
    stolen.publish(topic("mairie", "mairie-1", "events"), batch, retain=True)
    ingest = services(IngestService(database, parse_broker_url(accounts.url("ressenti_ingest"))))
    ingest.start()
    assert ingest.ready.wait(10)
    db = connect(database)
    deadline = time.monotonic() + 10
    while not db.conn.execute("SELECT count(*) FROM rejected").fetchone()[0]:
        assert time.monotonic() < deadline, "the retained batch was not filed as rejected"
        threading.Event().wait(0.05)
    reason, kiosk = db.conn.execute("SELECT reason, kiosk FROM rejected").fetchone()
    assert "retained" in reason and kiosk == "mairie-1"
    assert db.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    db.close()


def test_each_collector_account_does_its_own_job(accounts: Accounts, database: Path, services: Callable,
                                                 kiosk_factory: Callable) -> None:
    """The real kiosk link, ingest and web app, each with its own account: a press is stored and
    acked, the walls hear of it, and a config pushed from the web reaches the kiosk."""
    ingest = services(IngestService(database, parse_broker_url(accounts.url("ressenti_ingest"))))
    ingest.start()
    assert ingest.ready.wait(10)
    app = create_app({"DATABASE": str(database), "BROKER_URL": accounts.url("ressenti_web"),
                      "SECRET_KEY": "k" * 32, "TESTING": True})
    hub = app.extensions["ressenti_live"]
    services(hub)
    deadline = time.monotonic() + 10
    while not (hub.client and hub.client.is_connected()):
        assert time.monotonic() < deadline, "the web's broker client did not connect"
        threading.Event().wait(0.05)
    threading.Event().wait(0.3)  # its subscription to the live notices
    wall = hub.subscribe({"mairie"})
    kiosk = kiosk_factory("mairie-1", accounts.kiosk_address("mairie-1"))
    assert kiosk.link.connected.wait(10)
    kiosk.press(3)
    deadline = time.monotonic() + 10
    while kiosk.pending:
        assert time.monotonic() < deadline, "the kiosk got no ack"
        threading.Event().wait(0.05)
    update = wall.queue.get(timeout=10)
    assert update and update.startswith("event: update"), update
    db = connect(database)
    assert db.conn.execute("SELECT count(*) FROM events WHERE kiosk = 'mairie-1'").fetchone()[0] == 1
    revs = push_settings(db, hub.client, [("mairie-1", "mairie")], KioskSettings(scale=5), "admin")
    db.close()
    deadline = time.monotonic() + 10
    while kiosk.kiosk.settings.rev != revs["mairie-1"]:
        assert time.monotonic() < deadline, f"the kiosk did not apply config rev {revs}"
        threading.Event().wait(0.05)
    assert kiosk.kiosk.settings.scale == 5


def test_kiosk_firmware_with_a_wrong_password_is_refused(accounts: Accounts, kiosk_factory: Callable) -> None:
    kiosk = kiosk_factory("mairie-1", accounts.kiosk_address("mairie-1", password="wrong"))
    assert not kiosk.link.connected.wait(2)
