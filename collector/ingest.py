"""The ingest loop: MQTT batches in, validated, stored once, acked after commit.

Nothing a kiosk sends can stop the loop: every refusal is logged and kept in
the `rejected` table with its reason and raw bytes.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from sqlite_utils import Database

from collector.db import connect
from collector.registry import kiosk_site
from collector.store import Stored, record_rejection, store_batch
from ressenti.errors import BadBatch, BadTopic
from ressenti.mqtt import BrokerAddress, make_client
from ressenti.protocol import (
    Kind, decode_batch, encode_ack, live_topic, parse_topic, subscription, topic, utc_now,
)

log = logging.getLogger(__name__)

SHARE_GROUP = "ressenti-ingest"


@dataclass
class IngestCounters:
    batches: int = 0
    events: int = 0
    duplicates: int = 0
    rejected: int = 0


def handle_message(db: Database, topic_name: str, payload: bytes) -> Stored | None:
    """Validate and store one events message; None if the whole message was rejected."""
    received_at = utc_now()

    def reject(reason: str, **where: Any) -> None:
        record_rejection(db, reason=reason, raw=payload, topic=topic_name,
                         received_at=received_at, **where)

    try:
        parts = parse_topic(topic_name)
        if parts.kind is not Kind.EVENTS:
            raise BadTopic(f"topic {topic_name!r} is not an events topic")
    except BadTopic as exc:
        reject(str(exc))
        return None
    try:
        batch = decode_batch(payload)
    except BadBatch as exc:
        reject(f"unusable batch: {exc}", kiosk=parts.kiosk)
        return None
    if (batch.kiosk, batch.site) != (parts.kiosk, parts.site):
        reject(f"batch says kiosk {batch.kiosk!r} site {batch.site!r} but topic says"
               f" kiosk {parts.kiosk!r} site {parts.site!r}", kiosk=parts.kiosk, epoch=batch.epoch)
        return None
    registered = kiosk_site(db, batch.kiosk)
    if registered is None:
        reject(f"unknown kiosk {batch.kiosk!r}: register it with `ressenti collector kiosk add`",
               kiosk=batch.kiosk, epoch=batch.epoch)
        return None
    if registered != batch.site:
        reject(f"kiosk {batch.kiosk!r} is registered at site {registered!r}, not {batch.site!r}",
               kiosk=batch.kiosk, epoch=batch.epoch)
        return None
    return store_batch(db, batch, site=registered, received_at=received_at, topic=topic_name)


class IngestService:
    """One MQTT subscriber with a persistent session; several may share one `$share` group."""

    def __init__(self, db_path: str | Path, broker: BrokerAddress, *, instance: str = "1",
                 shared: bool = False) -> None:
        self.db_path = db_path
        self.broker = broker
        self.db = connect(db_path)
        self.shared = shared
        self.counters = IngestCounters()
        self.ready = threading.Event()
        # A fixed client id with clean_session=False: the broker keeps our
        # subscription and queues events while this process restarts.
        self.client = make_client(f"ressenti-ingest-{instance}", broker, clean_session=False)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    @property
    def subscription(self) -> str:
        events = subscription(Kind.EVENTS)
        return f"$share/{SHARE_GROUP}/{events}" if self.shared else events

    def start(self) -> None:
        self.client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.db.close()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            log.error("broker %s refused ingest: %s", self.broker.url, reason_code)
            return
        client.subscribe(self.subscription, qos=1)
        log.info("ingest connected to %s, subscribed to %s", self.broker.url, self.subscription)
        self.ready.set()

    def _on_disconnect(self, *args: Any) -> None:
        self.ready.clear()
        log.warning("ingest disconnected from %s; paho reconnects", self.broker.url)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # paho sends the PUBACK when this returns, so a crash before the commit
        # leaves the message with the broker for redelivery.
        try:
            stored = handle_message(self.db, message.topic, message.payload)
        except Exception:
            log.exception("could not store message on %s; the kiosk will resend", message.topic)
            return
        self.counters.batches += 1
        if stored is None:
            self.counters.rejected += 1
            return
        self.counters.events += len(stored.new_ratings)
        self.counters.duplicates += stored.duplicates
        parts = parse_topic(message.topic)
        client.publish(topic(parts.site, parts.kiosk, Kind.ACK), encode_ack(stored.ack), qos=1)
        if stored.new_ratings:
            client.publish(live_topic(stored.site), json.dumps(
                {"site": stored.site, "ratings": stored.new_ratings}), qos=0)
