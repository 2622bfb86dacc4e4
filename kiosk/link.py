"""The kiosk's MQTT link: sends outbox batches, deletes them on the collector's ack.

One batch in flight. A batch leaves the outbox only when the collector acks it
(never on the broker's PUBACK); without an ack within `ack_timeout_s`, or
after any reconnect, everything unacked is sent again. The collector stores
each event id once, so resending is always safe.

Reconnects wait a jittered, growing delay (ressenti.mqtt.Backoff, 1 s to
60 s): it is set into paho before each of its waits, from the callbacks that
paho calls right before waiting (on_disconnect, on_connect_fail).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from kiosk.clock import uptime_ms
from kiosk.core import Fault, Kiosk
from kiosk.health import health_report
from kiosk.linkstate import FILE_NAME, LinkStateFile
from kiosk.outbox import OutboxError
from ressenti.errors import BadAck, BadConfig
from ressenti.mqtt import Backoff, BrokerAddress, make_client
from ressenti.protocol import (
    MAX_BATCH_BYTES,
    MAX_EVENTS_PER_BATCH,
    OFFLINE_STATUS,
    Kind,
    decode_ack,
    decode_settings,
    encode_batch,
    encode_status,
    parse_json,
    parse_topic,
    topic,
)

log = logging.getLogger(__name__)

TICK_S = 0.5


class Link:
    def __init__(self, kiosk: Kiosk, broker: BrokerAddress, *, heartbeat_s: float = 60.0,
                 ack_timeout_s: float = 10.0, batch_size: int = MAX_EVENTS_PER_BATCH,
                 backoff: Backoff | None = None, state_path: str | Path | None = None) -> None:
        self.kiosk = kiosk
        self.broker = broker
        self.heartbeat_s = heartbeat_s
        self.ack_timeout_s = ack_timeout_s
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self._topics = {kind: topic(kiosk.site, kiosk.kiosk_id, kind) for kind in Kind}
        self.client = make_client(f"ressenti-kiosk-{kiosk.kiosk_id}", broker, clean_session=True)
        self.client.will_set(self._topics[Kind.STATUS], OFFLINE_STATUS, qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_connect_fail = self._on_connect_fail
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.state_file = LinkStateFile(state_path or kiosk.outbox.path.parent / FILE_NAME)
        self.state_file.update(state="connecting", broker=broker.url, since=time.time(),
                               last_ack_at=None, last_ack_through=None)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._in_flight: tuple[int, float] | None = None  # (last seq sent, ack deadline)
        self._next_heartbeat = 0.0
        self.connected = threading.Event()
        self.last_ack_at: float | None = None
        self.last_error: str | None = None  # why the last connection attempt failed
        self.next_reconnect_s: float | None = None
        self.alive_at = time.monotonic()  # the sending loop's heartbeat (systemd watchdog)
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
        self.state_file.update(state="stopped", since=time.time())
        self.state_file.flush(force=True)

    def is_alive(self, within_s: float) -> bool:
        """The sending loop ran within `within_s` seconds (not dead, not stuck in a tick)."""
        thread = self._thread
        return bool(thread and thread.is_alive()) and time.monotonic() - self.alive_at < within_s

    # -- the sending loop -------------------------------------------------------

    def _run(self) -> None:
        next_refresh = 0.0
        while not self._stop.is_set():
            self.alive_at = time.monotonic()
            if self.alive_at >= next_refresh:
                # Rewritten each heartbeat_s even when nothing changes, so
                # `ressenti kiosk status` can tell a stopped kiosk by the age.
                self.state_file.update(refresh_s=self.heartbeat_s)
                next_refresh = self.alive_at + self.heartbeat_s
            self._wake.wait(timeout=TICK_S)
            self._wake.clear()
            try:
                self._tick()
            except Exception:  # the link must outlive any one bad moment
                log.exception("link tick failed")
            self.state_file.flush()

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

    def status_report(self) -> dict[str, Any]:
        settings = self.kiosk.settings
        report = health_report(self.kiosk.outbox, clock=self.kiosk.clock.current().value,
                               config_rev=settings.rev)
        report.pop("at_monotonic")
        # Additive to the v1 status: what makes the status LED blink fast.
        report["faults"] = [{"kind": kind.value, "message": message[:300]}
                            for kind, message in self.kiosk.faults.items()]
        return report

    def publish_status(self) -> None:
        self.client.publish(self._topics[Kind.STATUS], encode_status(**self.status_report()),
                            qos=1, retain=True)

    # -- paho callbacks (paho's network thread) ---------------------------------
    # paho re-raises a callback's exception and its network thread dies with
    # it, so every callback below logs and carries on instead.

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            self.last_error = f"refused: {reason_code}"
            log.error("broker %s refused the connection: %s", self.broker.url, reason_code)
            return
        self.backoff.reset()
        self.last_error = self.next_reconnect_s = None
        client.subscribe([(self._topics[Kind.ACK], 1), (self._topics[Kind.CONFIG], 1)])
        log.info("connected to %s", self.broker.url)
        with self._lock:
            self._in_flight = None  # resend everything not yet acked
        self._next_heartbeat = 0.0
        self.connected.set()
        self.state_file.update(state="connected", since=time.time())
        self._wake.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self.last_error = "could not connect (network, TLS or broker down)"
        delay = self._schedule_reconnect()
        log.warning("cannot reach %s; next attempt in %.1f s", self.broker.url, delay)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        with self._lock:
            self._in_flight = None
        if self._stop.is_set():
            return
        delay = self._schedule_reconnect()
        if was_connected:
            self.state_file.update(state="disconnected", since=time.time(), reason=str(reason_code))
            log.warning("disconnected from %s (%s); reconnecting in %.1f s", self.broker.url,
                        reason_code, delay)

    def _schedule_reconnect(self) -> float:
        """Give paho the next jittered delay; paho waits min_delay when its delay is reset."""
        delay = self.backoff.next_delay()
        self.client.reconnect_delay_set(min_delay=delay, max_delay=delay)  # type: ignore[arg-type]
        self.next_reconnect_s = delay
        return delay

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            kind = parse_topic(message.topic).kind
            if message.topic != self._topics.get(kind):
                # Only our own ack and config topics count: a broker that hands out other
                # kiosks' retained configs (amqtt did, issue 18) must not change this kiosk.
                log.warning("ignoring a %s message on %s: this kiosk's is %s", kind.value, message.topic,
                            self._topics[kind])
                return
            if kind is Kind.ACK:
                self._handle_ack(bytes(message.payload))
            elif kind is Kind.CONFIG:
                self._handle_config(bytes(message.payload))
        except OutboxError as exc:
            log.error("%s", exc)
            self.kiosk.report_fault(Fault.STORAGE, str(exc))
        except Exception:
            log.exception("could not handle a message on %s", message.topic)

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
        self.state_file.update(last_ack_at=self.last_ack_at, last_ack_through=ack.through)
        with self._lock:
            if self._in_flight and ack.through >= self._in_flight[0]:
                self._in_flight = None
        log.debug("ack through %d: %d events delivered", ack.through, deleted)
        self._wake.set()

    def _handle_config(self, payload: bytes) -> None:
        if not payload:
            return  # a cleared retained message
        try:
            settings = decode_settings(parse_json(payload))
        except (ValueError, BadConfig) as exc:
            message = f"pushed config ignored, keeping rev {self.kiosk.settings.rev}: {exc}"
            log.error("%s", message)
            self.kiosk.report_fault(Fault.CONFIG, message)
            self.publish_status()
            return
        self.kiosk.clear_fault(Fault.CONFIG)
        if self.kiosk.apply_settings(settings):
            self.publish_status()
        elif settings.rev < self.kiosk.settings.rev:
            log.info("pushed config rev %d is older than mine (%d); ignored",
                     settings.rev, self.kiosk.settings.rev)
