"""The ingest loop: MQTT batches in, validated, stored once, acked after commit.

Nothing a kiosk sends can stop the loop: every refusal is logged and kept in
the `rejected` table with its reason and raw bytes (`collector/intake.py`).
"""

from __future__ import annotations

import fcntl
import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from collector.db import connect_for_ingest, write_transaction
from collector.fleet import record_status
from collector.intake import Incoming, UnknownKiosks, read_message, store_message
from collector.store import BatchWriter, Stored
from ressenti.errors import BadTopic
from ressenti.mqtt import BrokerAddress, make_client
from ressenti.protocol import Kind, encode_ack, live_topic, parse_topic, subscription, topic, utc_now

log = logging.getLogger(__name__)

SHARE_GROUP = "ressenti-ingest"

QueueItem = tuple[int, mqtt.MQTTMessage]  # (connection number, message)
Outcome = Stored | str | None  # an events message stored, a site whose walls redraw, or nothing to send
Done = tuple[QueueItem, Outcome]


def _is_status(message: mqtt.MQTTMessage) -> bool:
    return message.topic.endswith("/" + Kind.STATUS.value)


def _retained_events(message: mqtt.MQTTMessage) -> Incoming:
    """A batch the broker kept as retained: refused (filed once per kiosk per window, never stored).

    Kiosks never retain events (docs/protocol.md); the broker cannot forbid it
    (Mosquitto 2.0's ACL has no say on the retain flag), and a retained batch
    would come again at every re-subscribe. In MQTT 3.1.1 only the copy sent
    from the broker's retained store has the flag: the live delivery of the
    same publish does not, so a kiosk that retained by mistake loses nothing.
    """
    try:
        kiosk: str | None = parse_topic(message.topic).kiosk
    except BadTopic:
        kiosk = None
    return Incoming(message.topic, message.payload, utc_now(), kiosk=kiosk,
                    refusal="a retained events message (kiosks never retain events): not stored")


@lru_cache(maxsize=4096)
def ack_topic(site: str, kiosk: str) -> str:
    return topic(site, kiosk, Kind.ACK)


@dataclass
class IngestCounters:
    batches: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0
    disconnects: int = 0


Read = tuple[QueueItem, Incoming | None]  # a queued message and, for events, what read_message made of it


class IngestService:
    """One MQTT subscriber with a persistent session; several may share one `$share` group.

    paho's network thread only queues messages; a worker thread stores them and
    then sends the PUBACK (paho's manual ack), so a crash before the commit
    leaves the message with the broker. The queue is bounded: when it is
    full the network thread waits, stops reading the socket, and TCP holds the
    broker back (Mosquitto pushes a persistent session's whole backlog at
    once, whatever `max_inflight_messages` says), so memory stays flat.

    Acks and live updates go out on a second connection. On the receiving
    one, every QoS 1 publish waiting for its PUBACK makes paho read that many
    packets before it writes again; with the reads waiting on the worker,
    the acks then piled up unsent (memory grew with every message) until
    Mosquitto dropped the connection for a missed keepalive.
    """

    # Messages waiting for the worker: at most 32 MiB at the contract's 256 KiB a message.
    QUEUE_SIZE = 128
    ACKS_IN_FLIGHT = 1000
    # Stored per transaction, at most: whatever is queued when the worker turns. A commit's
    # fsync costs milliseconds, so more messages per commit is faster (32 -> 128: +9 % for
    # one-event batches, +14 % for batches of 10); the byte bound keeps a group of large
    # batches (about 3,000 events) from holding the write turn for seconds.
    GROUP_SIZE = 128
    GROUP_BYTES = 1 << 20

    def __init__(self, db_path: str | Path, broker: BrokerAddress, *, instance: str = "1",
                 shared: bool = False, unknown_kiosks: UnknownKiosks = UnknownKiosks.REJECT) -> None:
        self.db_path = db_path
        self.unknown_kiosks = UnknownKiosks(unknown_kiosks)
        self.broker = broker
        self.db = connect_for_ingest(db_path)
        self._lock_file = open(f"{db_path}.ingest-lock", "a")  # noqa: SIM115 (held for the service's life)
        self.shared = shared
        self.counters = IngestCounters()
        self.writer = BatchWriter()  # the worker's, across its transactions
        self.ready = threading.Event()
        # A fixed client id with clean_session=False: the broker keeps our
        # subscription and queues events while this process restarts.
        self.client = make_client(f"ressenti-ingest-{instance}", broker, clean_session=False)
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect
        self.sender = make_client(f"ressenti-ingest-{instance}-out", broker)
        # paho's default of 20 QoS 1 acks in flight is one round trip per 20
        # batches: too few when a backlog of small batches drains.
        self.sender.max_inflight_messages_set(self.ACKS_IN_FLIGHT)
        self._queue: queue.Queue[QueueItem | None] = queue.Queue(self.QUEUE_SIZE)
        self._connection = 0  # acks are only valid on the connection a message came in on
        self._stopping = False
        self._last_tick = time.monotonic()
        self._worker = threading.Thread(target=self._work, name=f"ingest-{instance}", daemon=True)

    @property
    def subscription(self) -> str:
        events = subscription(Kind.EVENTS)
        return f"$share/{SHARE_GROUP}/{events}" if self.shared else events

    @property
    def status_subscription(self) -> str:
        status = subscription(Kind.STATUS)
        return f"$share/{SHARE_GROUP}/{status}" if self.shared else status

    def start(self) -> None:
        self._worker.start()
        self.sender.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.sender.loop_start()
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
        while True:  # make room for the stop marker; what is dropped was not acked
            try:
                self._queue.put_nowait(None)
                break
            except queue.Full:
                self._queue.get_nowait()
        self._worker.join(30)
        self.sender.disconnect()
        self.sender.loop_stop()
        self.db.close()
        self._lock_file.close()

    # -- paho's network thread ------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            log.error("broker %s refused ingest: %s", self.broker.url, reason_code)
            return
        self._connection += 1
        client.subscribe([(self.subscription, 1), (self.status_subscription, 1)])
        log.info("ingest connected to %s, subscribed to %s", self.broker.url, self.subscription)
        self.ready.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        self.ready.clear()
        if not self._stopping:
            self.counters.disconnects += 1
        log.warning("ingest disconnected from %s (%s); paho reconnects", self.broker.url, reason_code)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        while not self._stopping:  # blocks while the worker is behind: back-pressure
            try:
                self._queue.put((self._connection, message), timeout=1)
                return
            except queue.Full:
                continue

    # -- the worker thread -------------------------------------------------------------

    def alive(self, within_s: float = 20.0) -> bool:
        """The worker loop turned recently (it turns at least once a second, even idle)."""
        return self._worker.is_alive() and time.monotonic() - self._last_tick < within_s

    def _work(self) -> None:
        while True:
            self._last_tick = time.monotonic()
            try:
                item = self._queue.get(timeout=1)
            except queue.Empty:
                continue
            group, stopping = self._take_group(item)
            if group:
                try:
                    self._store_group(group)
                except Exception:  # a bug must not end the worker: the group is not acked and comes again
                    log.exception("could not handle %d messages; they are not acked", len(group))
            if stopping:
                return

    def _take_group(self, first: QueueItem | None) -> tuple[list[QueueItem], bool]:
        """The first item and whatever else is already queued; True when the stop marker came."""
        group: list[QueueItem] = []
        size = 0
        item = first
        while item is not None:
            group.append(item)
            size += len(item[1].payload)
            if len(group) >= self.GROUP_SIZE or size >= self.GROUP_BYTES:
                return group, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return group, False
        return group, True

    def _store_group(self, group: list[QueueItem]) -> None:
        """Store queued messages in one transaction (one fsync), then ack each one that stored.

        First all together, their rollups and watermarks written once. If
        one fails, the transaction is rolled back and the group stored again
        with a savepoint per message: the one that fails rolls back alone, is
        not acked, and the broker and the kiosk send it again.
        """
        # Decoded before the write turn: other ingest processes store meanwhile.
        read = [(item, self._read(item[1])) for item in group]
        with self._write_turn():
            try:
                done = self._store_together(read)
            except Exception:
                self.writer.forget()
                log.warning("a group of %d messages failed; storing them one by one", len(group))
                try:
                    done = self._store_apart(read)
                except Exception:  # the commit itself failed: nothing is acked, everything comes again
                    log.exception("could not commit %d messages; the kiosks will resend", len(group))
                    return
        self._acknowledge(done)

    @staticmethod
    def _read(message: mqtt.MQTTMessage) -> Incoming | None:
        if _is_status(message):
            return None
        if message.retain:
            return _retained_events(message)
        try:
            return read_message(message.topic, message.payload)
        except Exception as exc:  # a bug: the message is filed with it, and the others go on
            log.exception("could not read message on %s", message.topic)
            return Incoming(message.topic, message.payload, utc_now(), refusal=f"could not read: {exc!r}")

    @contextmanager
    def _write_turn(self) -> Iterator[None]:
        """Wait for the other ingest processes' write transactions, woken as soon as one ends.

        SQLite's own busy wait sleeps 1, 2, 5, 10... ms between tries, and two
        processes would spend more time asleep than one alone needs.
        """
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _store_together(self, read: list[Read]) -> list[Done]:
        with write_transaction(self.db):
            self.writer.begin(self.db)
            done = [(item, self._store_one(item[1], incoming, self.writer)) for item, incoming in read]
            self.writer.flush(self.db)
        return done

    def _store_apart(self, read: list[Read]) -> list[Done]:
        done = []
        with write_transaction(self.db):
            for item, incoming in read:
                try:
                    with write_transaction(self.db):  # a savepoint
                        writer = BatchWriter()  # its own: nothing shared with a message that fails
                        done.append((item, self._store_one(item[1], incoming, writer)))
                        writer.flush(self.db)
                except Exception:
                    log.exception("could not store message on %s; the kiosk will resend", item[1].topic)
        return done

    def _store_one(self, message: mqtt.MQTTMessage, incoming: Incoming | None, writer: BatchWriter) -> Outcome:
        """Store an events or status message: what it stored, the site whose walls redraw, or None."""
        if incoming is None:
            return self._store_status(message)
        return store_message(self.db, incoming, self.unknown_kiosks, writer)

    def _acknowledge(self, done: list[Done]) -> None:
        """After the commit: ack what came on this connection, answer the kiosks, tell the walls."""
        live: dict[str, list[int]] = {}
        for (connection, message), outcome in done:
            if isinstance(outcome, Stored):
                self.sender.publish(ack_topic(outcome.site, outcome.kiosk), encode_ack(outcome.ack), qos=1)
                live.setdefault(outcome.site, []).extend(outcome.new_ratings)
                self._count(outcome)
                log.debug("stored batch of %s: %d new, %d duplicate, ack through %d", message.topic,
                          len(outcome.new_ratings), outcome.duplicates, outcome.ack.through)
            elif outcome is not None:
                live.setdefault(outcome, [])  # a kiosk came or went: walls redraw their count
            elif not _is_status(message):
                self._count(None)
            if connection == self._connection and message.qos > 0:
                self.client.ack(message.mid, message.qos)
        for site, ratings in live.items():
            self.sender.publish(live_topic(site), json.dumps({"site": site, "ratings": ratings}), qos=0)

    def _count(self, stored: Stored | None) -> None:
        self.counters.batches += 1
        if stored is None:
            self.counters.rejected += 1
            return
        self.counters.events += len(stored.new_ratings)
        self.counters.duplicates += stored.duplicates

    def _store_status(self, message: mqtt.MQTTMessage) -> str | None:
        """Keep a kiosk's status; its site when the walls should redraw."""
        parts = parse_topic(message.topic)
        return parts.site if record_status(self.db, parts.kiosk, parts.site, message.payload, utc_now()) else None
