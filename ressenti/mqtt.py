"""Broker addresses and paho-mqtt client setup shared by kiosks and the collector."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt

from ressenti.errors import BadConfig


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
    return Path(path).read_text().strip() if path else None


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
    # paho's own reconnect: exponential from 1 s to 60 s.
    client.reconnect_delay_set(min_delay=1, max_delay=60)
    return client
