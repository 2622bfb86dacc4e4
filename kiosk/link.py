"""The kiosk's MQTT link: sends outbox batches, deletes them on the collector's ack.

One batch in flight. A batch leaves the outbox only when the collector acks it
(never on the broker's PUBACK); without an ack within `ack_timeout_s`, or
after any reconnect, everything unacked is sent again. The collector stores
each event id once, so resending is always safe.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

from kiosk.core import Kiosk
from kiosk.health import health_report
from ressenti.errors import BadAck, BadConfig
from ressenti.mqtt import BrokerAddress, make_client
from ressenti.protocol import (
    MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH, OFFLINE_STATUS, Kind, decode_ack, decode_settings,
    encode_batch, encode_status, parse_topic, topic,
)
from kiosk.clock import uptime_ms

log = logging.getLogger(__name__)


class Link:
    def __init__(self, kiosk: Kiosk, broker: BrokerAddress, *, heartbeat_s: float = 60.0,
                 ack_timeout_s: float = 10.0, batch_size: int = MAX_EVENTS_PER_BATCH) -> None:
        self.kiosk = kiosk
        self.broker = broker
        self.heartbeat_s = heartbeat_s
        self.ack_timeout_s = ack_timeout_s
        self.batch_size = batch_size
        self._topics = {kind: topic(kiosk.site, kiosk.kiosk_id, kind) for kind in Kind}
        self.client = make_client(f"ressenti-kiosk-{kiosk.kiosk_id}", broker, clean_session=True)
        self.client.will_set(self._topics[Kind.STATUS], OFFLINE_STATUS, qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._in_flight: tuple[int, float] | None = None  # (last seq sent, ack deadline)
        self._next_heartbeat = 0.0
        self.connected = threading.Event()
        self.last_ack_at: float | None = None
        self.batches_sent = 0
        kiosk.on_press(lambda _event: self._wake.set())

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        self._thread = threading.Thread(target=self._run, name=f"link-{self.kiosk.kiosk_id}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)
        if self.connected.is_set():
            # A clean shutdown says so itself; the Last Will covers the rest.
            self.client.publish(self._topics[Kind.STATUS], OFFLINE_STATUS, qos=1, retain=True).wait_for_publish(2)
        self.client.disconnect()
        self.client.loop_stop()

    # -- the sending loop -------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            try:
                self._tick()
            except Exception:  # the link must outlive any one bad moment
                log.exception("link tick failed")

    def _tick(self) -> None:
        if not self.connected.is_set():
            return
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self.publish_status()
            self._next_heartbeat = now + self.heartbeat_s
        with self._lock:
            if self._in_flight and now > self._in_flight[1]:
                log.warning("no ack for batch through seq %d in %.0f s; resending",
                            self._in_flight[0], self.ack_timeout_s)
                self._in_flight = None
            if self._in_flight is None:
                self._send_batch_locked(now)

    def _send_batch_locked(self, now: float) -> None:
        outbox = self.kiosk.outbox
        events = outbox.batch(self.batch_size, max_bytes=MAX_BATCH_BYTES - 1024)
        if not events:
            return
        payload = encode_batch(
            kiosk=self.kiosk.kiosk_id, site=self.kiosk.site, epoch=outbox.epoch,
            boot=self.kiosk.boot, up_ms=uptime_ms(), events=events,
            dropped_through=outbox.dropped_through,
        )
        info = self.client.publish(self._topics[Kind.EVENTS], payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            log.info("publish refused (%s); will resend after reconnect", mqtt.error_string(info.rc))
            return
        self._in_flight = (events[-1]["seq"], now + self.ack_timeout_s)
        self.batches_sent += 1

    def publish_status(self) -> None:
        settings = self.kiosk.settings
        report = health_report(self.kiosk.outbox, clock=self.kiosk.clock.current().value,
                               config_rev=settings.rev)
        report.pop("at_monotonic")
        self.client.publish(self._topics[Kind.STATUS], encode_status(**report), qos=1, retain=True)

    # -- paho callbacks (paho's network thread) ---------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            log.error("broker %s refused the connection: %s", self.broker.url, reason_code)
            return
        client.subscribe([(self._topics[Kind.ACK], 1), (self._topics[Kind.CONFIG], 1)])
        log.info("connected to %s", self.broker.url)
        with self._lock:
            self._in_flight = None  # resend everything not yet acked
        self._next_heartbeat = 0.0
        self.connected.set()
        self._wake.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        self.connected.clear()
        with self._lock:
            self._in_flight = None
        if not self._stop.is_set():
            log.warning("disconnected from %s (%s); reconnecting", self.broker.url, reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        kind = parse_topic(message.topic).kind
        if kind is Kind.ACK:
            self._handle_ack(message.payload)
        elif kind is Kind.CONFIG:
            self._handle_config(message.payload)

    def _handle_ack(self, payload: bytes) -> None:
        try:
            ack = decode_ack(payload)
        except BadAck as exc:
            log.error("ignoring ack: %s", exc)
            return
        deleted = self.kiosk.outbox.ack(ack.epoch, ack.through)
        for seq, reason in ack.rejected:
            log.error("collector rejected event seq %d: %s", seq, reason)
        self.last_ack_at = time.time()
        with self._lock:
            if self._in_flight and ack.through >= self._in_flight[0]:
                self._in_flight = None
        log.debug("ack through %d: %d events delivered", ack.through, deleted)
        self._wake.set()

    def _handle_config(self, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained message
        try:
            settings = decode_settings(json.loads(payload))
        except (ValueError, BadConfig) as exc:
            log.error("ignoring pushed config: %s", exc)
            return
        if self.kiosk.apply_settings(settings):
            self.publish_status()
