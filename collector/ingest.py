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
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt

from collector.arrivals import ArrivalPolicy
from collector.db import connect_for_ingest, write_transaction
from collector.engine import is_postgres, lock_streams
from collector.fleet import record_status
from collector.intake import Incoming, UnknownKiosks, read_message, store_message
from collector.rejections import RefusalLimiter, RejectionClass, record_rejection
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


def producer_of(topic_name: str) -> str | None:
    """The kiosk a topic names (`ressenti/v1/{site}/{kiosk}/...`): whose share of the worker a message uses."""
    parts = topic_name.split("/", 4)
    return parts[3] if len(parts) == 5 else None


class _MessageFailed(Exception):
    """One message of a group could not be stored; the others can."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(repr(error))
        self.index, self.error = index, error


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

    # Messages waiting for the worker, in paho's queue and again in the worker's per-producer
    # backlog: at most 2 x 128, 64 MiB at the contract's 256 KiB a message.
    QUEUE_SIZE = 128
    ACKS_IN_FLIGHT = 1000
    # Stored per transaction, at most: whatever is queued when the worker turns. A commit's
    # fsync costs milliseconds, so more messages per commit is faster (32 -> 128: +9 % for
    # one-event batches, +14 % for batches of 10); the byte bound keeps a group of large
    # batches (about 3,000 events) from holding the write turn for seconds.
    GROUP_SIZE = 128
    GROUP_BYTES = 1 << 20
    # A group that fails is stored again without the failing message, this many times at most,
    # before the slow path (a savepoint per message).
    ISOLATIONS = 4

    def __init__(self, db_path: str | Path, broker: BrokerAddress, *, instance: str = "1",
                 shared: bool = False, unknown_kiosks: UnknownKiosks = UnknownKiosks.REJECT,
                 policy: ArrivalPolicy | None = None) -> None:
        self.db_path = db_path
        self.policy = policy or ArrivalPolicy()
        self.unknown_kiosks = UnknownKiosks(unknown_kiosks)
        self.broker = broker
        self.db = connect_for_ingest(db_path)
        # SQLite: one writer at a time, woken by a lock file; PostgreSQL locks each stream's row instead.
        self._lock_file = None if is_postgres(self.db) else open(f"{db_path}.ingest-lock", "a")  # noqa: SIM115
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
        # The worker's own: what it took from the queue, per producer, served round-robin.
        self._backlog: dict[str | None, deque[QueueItem]] = {}
        self._backlog_count = 0
        self.refusals = RefusalLimiter()
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
        if self._lock_file is not None:
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
        if self._stopping:  # our own disconnect on a normal stop: nothing to warn about
            log.info("ingest disconnected from %s (stopping)", self.broker.url)
            return
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
            arrived = True
            try:
                item = self._queue.get(block=not self._backlog, timeout=1)
            except queue.Empty:
                if not self._backlog:
                    continue
                item, arrived = None, False
            group, stopping = self._take_group(item, arrived=arrived)
            if group:
                try:
                    self._store_group(group)
                except Exception:  # a bug must not end the worker: the group is not acked and comes again
                    log.exception("could not handle %d messages; they are not acked", len(group))
            if stopping:
                return

    def _take_group(self, first: QueueItem | None, *, arrived: bool = True) -> tuple[list[QueueItem], bool]:
        """A group to store, one message per producer in turn; True when the stop marker came.

        `first` (when `arrived`) and whatever else is queued are sorted into a
        queue per producer first, at most QUEUE_SIZE in all, so one kiosk
        flooding cannot fill a group while another's batch waits behind it:
        each producer gives one message per round, in its order, and one
        served goes to the back of the next round.
        """
        stopping = arrived and first is None
        item = first if arrived else None
        while item is not None:
            self._backlog.setdefault(producer_of(item[1].topic), deque()).append(item)
            self._backlog_count += 1
            if self._backlog_count >= self.QUEUE_SIZE:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            stopping = item is None
        group: list[QueueItem] = []
        size = 0
        while self._backlog and len(group) < self.GROUP_SIZE and size < self.GROUP_BYTES:
            for producer in list(self._backlog):
                waiting = self._backlog.pop(producer)
                taken = waiting.popleft()
                if waiting:
                    self._backlog[producer] = waiting  # to the back
                self._backlog_count -= 1
                group.append(taken)
                size += len(taken[1].payload)
                if len(group) >= self.GROUP_SIZE or size >= self.GROUP_BYTES:
                    break
        return group, stopping

    def _store_group(self, group: list[QueueItem]) -> None:
        """Store queued messages in one transaction (one fsync), then ack each one that stored.

        All together, their rollups and watermarks written once. If one
        message fails, the transaction is rolled back, that message is kept in
        `rejected` with the error (a store error is a refusal like any other:
        PUBACKed, not acked to the kiosk, which resends) and the rest is
        stored together again, up to ISOLATIONS times. Only a failure that is
        no one message's (the final writes, the commit) takes the slow path: a
        savepoint per message.
        """
        # Decoded before the write turn: other ingest processes store meanwhile.
        read = [(item, self._read(item[1])) for item in group]
        failed: list[tuple[Read, Exception]] = []
        done: list[Done] | None = None
        with self._write_turn():
            for _ in range(self.ISOLATIONS + 1):
                try:
                    done = self._store_together(self._without(read, failed), failed)
                    break
                except _MessageFailed as exc:
                    self.writer.forget()
                    failing = self._without(read, failed)[exc.index]
                    log.warning("message on %s could not be stored (%r); storing the others together",
                                failing[0][1].topic, exc.error)
                    failed.append((failing, exc.error))
                except Exception:
                    self.writer.forget()
                    log.exception("a group of %d messages failed; storing them one by one", len(group))
                    break
            if done is None:
                try:
                    done = self._store_apart(read)
                except Exception:  # the commit itself failed: nothing is acked, everything comes again
                    log.exception("could not commit %d messages; the kiosks will resend", len(group))
                    return
        self._acknowledge(done)
        self._spend_refusals(done)

    @staticmethod
    def _without(read: list[Read], failed: list[tuple[Read, Exception]]) -> list[Read]:
        return [r for r in read if all(r is not f for f, _ in failed)]

    def _spend_refusals(self, done: list[Done]) -> None:
        for (_, message), outcome in done:
            if outcome is None and not _is_status(message):
                self.refusals.refused(producer_of(message.topic))

    def _read(self, message: mqtt.MQTTMessage) -> Incoming | None:
        if _is_status(message):
            return None
        if message.retain:
            return _retained_events(message)
        producer = producer_of(message.topic)
        if self.refusals.limited(producer):  # refused again and again: not even decoded
            return Incoming(message.topic, message.payload, utc_now(), kiosk=producer,
                            refusal="rate limited: too many refused messages from this producer",
                            refusal_class=RejectionClass.RATE_LIMITED)
        try:
            return read_message(message.topic, message.payload)
        except Exception as exc:  # a bug: the message is filed with it, and the others go on
            log.exception("could not read message on %s", message.topic)
            return Incoming(message.topic, message.payload, utc_now(), refusal=f"could not read: {exc!r}",
                            refusal_class=RejectionClass.READ_ERROR, kiosk=producer)

    @contextmanager
    def _write_turn(self) -> Iterator[None]:
        """Wait for the other ingest processes' write transactions, woken as soon as one ends.

        SQLite's own busy wait sleeps 1, 2, 5, 10... ms between tries, and two
        processes would spend more time asleep than one alone needs.
        """
        if self._lock_file is None:
            yield
            return
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _store_together(self, read: list[Read], failed: list[tuple[Read, Exception]]) -> list[Done]:
        """Store `read` in one transaction and file the `failed` ones as store errors; raise _MessageFailed."""
        with write_transaction(self.db):
            self.writer.begin(self.db)
            # PostgreSQL: every stream of the group locked first, in order, so processes never deadlock.
            lock_streams(self.db, [(r.batch.kiosk, r.batch.epoch) for _, r in read if r is not None and r.batch])
            done = []
            for index, (item, incoming) in enumerate(read):
                try:
                    done.append((item, self._store_one(item[1], incoming, self.writer)))
                except Exception as exc:
                    raise _MessageFailed(index, exc) from exc
            for (item, incoming), error in failed:
                self._file_store_error(item[1], incoming, error)
                done.append((item, None))
            self.writer.flush(self.db)
        return done

    def _store_apart(self, read: list[Read]) -> list[Done]:
        done: list[Done] = []
        with write_transaction(self.db):
            for item, incoming in read:
                try:
                    with write_transaction(self.db):  # a savepoint
                        writer = BatchWriter()  # its own: nothing shared with a message that fails
                        done.append((item, self._store_one(item[1], incoming, writer)))
                        writer.flush(self.db)
                except Exception as exc:
                    log.exception("could not store message on %s; the kiosk will resend", item[1].topic)
                    self._file_store_error(item[1], incoming, exc)
                    done.append((item, None))
        return done

    def _file_store_error(self, message: mqtt.MQTTMessage, incoming: Incoming | None, error: Exception) -> None:
        """Keep a message the database refused in `rejected`, with the error (statuses are only logged)."""
        if incoming is None:
            return
        batch = incoming.batch
        record_rejection(self.db, reason=f"could not store: {error!r}"[:500], raw=message.payload,
                         topic=message.topic, received_at=incoming.received_at,
                         kiosk=batch.kiosk if batch else incoming.kiosk, epoch=batch.epoch if batch else None,
                         reason_class=RejectionClass.STORE_ERROR)

    def _store_one(self, message: mqtt.MQTTMessage, incoming: Incoming | None, writer: BatchWriter) -> Outcome:
        """Store an events or status message: what it stored, the site whose walls redraw, or None."""
        if incoming is None:
            return self._store_status(message)
        return store_message(self.db, incoming, self.unknown_kiosks, writer, self.policy)

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
