"""TLS and passwords on a real Mosquitto: the right CA and password deliver; a wrong one or no CA do not."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from collector.db import connect
from collector.ingest import IngestService
from collector.registry import add_kiosk, add_site
from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox
from ressenti.mosquitto_runner import MosquittoError, free_port, start_mosquitto
from ressenti.mqtt import BrokerAddress
from ressenti.protocol import Clock

pytestmark = pytest.mark.mosquitto


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def make_pki(directory: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("ressenti test CA")).issuer_name(_name("ressenti test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
              .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                          x509.DNSName("localhost")]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"ca": directory / "ca.crt", "cert": directory / "server.crt", "key": directory / "server.key"}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    _write_key(server_key, paths["key"])
    return paths


@dataclass
class TlsBroker:
    port: int
    ca_file: str

    def address(self, username: str | None, password: str | None, *, ca: bool = True) -> BrokerAddress:
        return BrokerAddress("127.0.0.1", self.port, tls=True, username=username, password=password,
                             ca_file=self.ca_file if ca else None)


@pytest.fixture
def tls_broker(tmp_path):
    """Mosquitto with only a TLS listener and a password file: no plain port, no anonymous access."""
    mosquitto_passwd = shutil.which("mosquitto_passwd")
    if not mosquitto_passwd:
        pytest.fail("mosquitto_passwd is missing (Debian package mosquitto; .ci/run installs it)")
    pki = make_pki(tmp_path / "pki")
    passwords = tmp_path / "pki" / "passwords"
    for user, password in (("borne-tls", "right-password"), ("collector", "collector-password")):
        subprocess.run([mosquitto_passwd, *(["-c"] if not passwords.exists() else []), "-b", str(passwords),
                        user, password], check=True, capture_output=True)
    passwords.chmod(0o600)
    port = free_port()
    try:
        broker = start_mosquitto(tmp_path / "broker", port=port, default_listener=False, extra_config=(
            f"listener {port} 127.0.0.1\ncafile {pki['ca']}\ncertfile {pki['cert']}\nkeyfile {pki['key']}\n"
            f"allow_anonymous false\npassword_file {passwords}\n"))
    except MosquittoError as exc:
        pytest.fail(str(exc))
    yield TlsBroker(port, str(pki["ca"]))
    broker.stop()


@pytest.fixture
def ingest(tmp_path, tls_broker):
    db_path = tmp_path / "collector.db"
    db = connect(db_path)
    add_site(db, "mairie", "Mairie", scale=4)
    add_kiosk(db, "borne-tls", "mairie")
    db.close()
    service = IngestService(db_path, tls_broker.address("collector", "collector-password"))
    service.start()
    assert service.ready.wait(10), "the collector could not connect over TLS"
    yield db_path
    service.stop()


@pytest.fixture
def start_kiosk(tmp_path):
    made: list[tuple[Link, Outbox]] = []

    def start(address: BrokerAddress, name: str) -> tuple[Kiosk, Link]:
        outbox = Outbox(tmp_path / name / "outbox.db")
        kiosk = Kiosk("borne-tls", "mairie", outbox, clock=ClockState(Clock.NTP))
        link = Link(kiosk, address, ack_timeout_s=2)
        kiosk.press(3, "button")
        link.start()
        made.append((link, outbox))
        return kiosk, link

    yield start
    for link, outbox in made:
        link.stop()
        outbox.close()


def stored_events(db_path: Path) -> int:
    return connect(db_path)["events"].count


def test_right_ca_and_password_deliver(tls_broker, ingest, start_kiosk, wait):
    kiosk, link = start_kiosk(tls_broker.address("borne-tls", "right-password"), "good")
    wait(link.connected.is_set, what="a TLS connection")
    wait(lambda: kiosk.outbox.state().pending == 0, what="the press delivered and acked")
    assert stored_events(ingest) == 1


def test_wrong_password_is_refused_and_nothing_leaves_the_outbox(tls_broker, ingest, start_kiosk, wait):
    kiosk, link = start_kiosk(tls_broker.address("borne-tls", "wrong-password"), "bad-password")
    wait(lambda: link.last_error, what="the refusal")
    assert "refused" in link.last_error and "authori" in link.last_error.lower(), link.last_error
    assert not link.connected.is_set()
    assert kiosk.outbox.state().pending == 1 and stored_events(ingest) == 0


def test_without_the_ca_the_broker_is_not_trusted(tls_broker, ingest, start_kiosk, wait, caplog):
    kiosk, link = start_kiosk(tls_broker.address("borne-tls", "right-password", ca=False), "no-ca")
    wait(lambda: link.last_error, what="the TLS failure")
    assert "could not connect" in link.last_error
    assert not link.connected.is_set()
    assert kiosk.outbox.state().pending == 1 and stored_events(ingest) == 0


def test_plain_mqtt_to_the_tls_port_gets_nowhere(tls_broker, ingest, start_kiosk, wait):
    plain = BrokerAddress("127.0.0.1", tls_broker.port, username="borne-tls", password="right-password")
    kiosk, link = start_kiosk(plain, "plain")
    wait(lambda: link.last_error or link.backoff.attempt > 0, timeout=15, what="the failure")
    assert not link.connected.is_set() and stored_events(ingest) == 0
