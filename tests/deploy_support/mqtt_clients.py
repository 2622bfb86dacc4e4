"""Small paho-mqtt clients for checking what a broker allows: connect, subscribe, publish, wait."""

from __future__ import annotations

import ssl
import threading
import time

import paho.mqtt.client as mqtt


class TestClient:
    """One MQTT 3.1.1 client with its own network thread; remembers every message it gets."""

    __test__ = False  # not a pytest test class

    def __init__(self, client_id: str, *, username: str | None = None, password: str | None = None,
                 ca_file: str | None = None) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv311, clean_session=True)
        if username is not None:
            self.client.username_pw_set(username, password)
        if ca_file is not None:
            self.client.tls_set(ca_certs=ca_file, cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.accepted = threading.Event()
        self.refused = threading.Event()
        self.disconnected = threading.Event()
        self.refusal: str | None = None
        self.messages: list[tuple[str, bytes]] = []
        self._changed = threading.Condition()
        self._subacks: dict[int, list] = {}
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            self.refusal = str(reason_code)
            self.refused.set()
        else:
            self.accepted.set()

    def _on_disconnect(self, *args) -> None:  # type: ignore[no-untyped-def]
        self.disconnected.set()

    def _on_message(self, client, userdata, message) -> None:  # type: ignore[no-untyped-def]
        with self._changed:
            self.messages.append((message.topic, message.payload))
            self._changed.notify_all()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # type: ignore[no-untyped-def]
        with self._changed:
            self._subacks[mid] = list(reason_codes)
            self._changed.notify_all()

    def connect(self, host: str, port: int, timeout: float = 10) -> bool:
        """True when the broker accepts us; False when it refuses (CONNACK) or the link breaks."""
        try:
            self.client.connect(host, port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            self.refusal = f"{type(exc).__name__}: {exc}"
            return False
        self.client.loop_start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.accepted.is_set():
                return True
            if self.refused.is_set() or self.disconnected.is_set():
                return False
            self.accepted.wait(0.05)
        raise AssertionError(f"no answer from the broker at {host}:{port} within {timeout} s")

    def subscribe(self, topic: str, timeout: float = 10) -> list:
        """Subscribe and wait for the SUBACK; returns its reason codes."""
        result, mid = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS, f"subscribe to {topic}: {result}"
        with self._changed:
            assert self._changed.wait_for(lambda: mid in self._subacks, timeout), f"no SUBACK for {topic}"
            return self._subacks[mid]

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False, timeout: float = 10) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout)
        assert info.is_published(), f"no PUBACK for {topic}"

    def wait_for(self, payload: bytes, timeout: float = 10) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.got(payload), timeout)

    def wait_until(self, predicate, timeout: float = 10) -> bool:  # type: ignore[no-untyped-def]
        """Wait for `predicate(messages)` to hold, re-checked at each new message."""
        with self._changed:
            return self._changed.wait_for(lambda: predicate(self.messages), timeout)

    def got(self, payload: bytes) -> bool:
        return any(p == payload for _, p in self.messages)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
