"""Broker addresses and paho-mqtt client setup shared by kiosks and the collector."""

from __future__ import annotations

import random
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from ressenti.errors import BadConfig

# Reconnect delays (seconds): paho's own backoff for every client, and the
# bounds of the kiosks' jittered one.
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 60


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str, **extra: str | None) -> BrokerAddress:
    """`mqtt://[user:pass@]host[:1883]` or `mqtts://host[:8883]`; extra: ca_file, cert_file..."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise BadConfig(f"broker url {url!r} must look like mqtt://host:1883 or mqtts://host:8883")
    tls = parts.scheme == "mqtts"
    username = unquote(parts.username) if parts.username else extra.pop("username", None)
    password = unquote(parts.password) if parts.password else extra.pop("password", None)
    extra.pop("username", None), extra.pop("password", None)
    return BrokerAddress(
        host=parts.hostname, port=parts.port or (8883 if tls else 1883), tls=tls,
        username=username, password=password, **extra,
    )


def read_secret(path: str | None) -> str | None:
    """A password kept in its own file (mode 0600), so it never sits in a config file."""
    if not path:
        return None
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise BadConfig(f"password file {path}: {exc.strerror}; check it exists and who may read it") from None


def make_client(client_id: str, address: BrokerAddress, *, clean_session: bool = True) -> mqtt.Client:
    """A paho 2.x client with auth and TLS set from the address (MQTT 3.1.1)."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
        clean_session=clean_session, protocol=mqtt.MQTTv311,
    )
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set(
            ca_certs=address.ca_file, certfile=address.cert_file, keyfile=address.key_file,
            cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT,
        )
    # paho's own reconnect: exponential from 1 s to 60 s, without jitter.
    # Kiosks add jitter on top (Backoff below, installed by kiosk/link.py).
    client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S)
    return client


def backoff_delay(attempt: int, draw: float, *, min_s: float = RECONNECT_MIN_S,
                  max_s: float = RECONNECT_MAX_S) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0 = the first retry).

    "Equal jitter": the ceiling doubles from 2 x min_s up to max_s, and the
    delay is drawn in [ceiling / 2, ceiling] (never below min_s) with `draw`
    in [0, 1). So the wait still grows against a dead broker, yet 1000 kiosks
    cut off by the same broker restart come back spread over a window that
    widens with every attempt instead of all at once (paho's own backoff has
    no jitter: `reconnect_delay_set` doubles a fixed delay).
    """
    if attempt < 0 or not 0.0 <= draw <= 1.0:
        raise ValueError(f"attempt {attempt} must be >= 0 and draw {draw} in [0, 1]")
    ceiling = min(max_s, min_s * 2.0 ** min(attempt + 1, 32))
    floor = max(min_s, ceiling / 2)
    return floor + draw * (ceiling - floor)


class Backoff:
    """Counts failed attempts and hands out jittered delays; reset on a good connection."""

    def __init__(self, *, min_s: float = RECONNECT_MIN_S, max_s: float = RECONNECT_MAX_S,
                 rng: random.Random | None = None) -> None:
        self.min_s, self.max_s = min_s, max_s
        self._rng = rng or random.Random()
        self._attempt = 0
        self._lock = threading.Lock()

    @property
    def attempt(self) -> int:
        return self._attempt

    def next_delay(self) -> float:
        with self._lock:
            delay = backoff_delay(self._attempt, self._rng.random(), min_s=self.min_s, max_s=self.max_s)
            self._attempt += 1
            return delay

    def reset(self) -> None:
        with self._lock:
            self._attempt = 0
