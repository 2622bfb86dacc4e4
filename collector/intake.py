"""One message's way in, without MQTT: read it, check its producer, store it once.

`read_message` checks the topic and the contract (no database: several ingest
processes do this at once); `store_message` files a refusal in `rejected`
with its reason and raw bytes, or checks the producer against the registry
and stores the batch. The MQTT ingest (`collector/ingest.py`) and the HTTP
sources (`collector/web/api_events.py`) both come through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlite_utils import Database

from collector.arrivals import ArrivalPolicy
from collector.registry import UNASSIGNED, ensure_unassigned
from collector.rejections import RejectionClass, record_rejection
from collector.store import BatchWriter, Stored, store_batch
from ressenti.errors import BadBatch, BadTopic, BatchTooLarge, NotJSON
from ressenti.protocol import Batch, Kind, decode_batch, parse_topic, utc_now

DEFAULT_POLICY = ArrivalPolicy()


class UnknownKiosks(StrEnum):
    """What ingest does with a batch from a kiosk the registry does not know."""

    REJECT = "reject"  # keep it in `rejected`, do not ack: the kiosk resends until registered
    UNASSIGNED = "unassigned"  # register it at the `unassigned` site for an admin to move


def accept_batch(db: Database, batch: Batch, *, topic_name: str, raw: bytes, received_at: datetime,
                 unknown_kiosks: UnknownKiosks = UnknownKiosks.REJECT,
                 channel_of_source: str | None = None, writer: BatchWriter | None = None,
                 policy: ArrivalPolicy = DEFAULT_POLICY) -> Stored | None:
    """Check the producer against the registry and store the batch; None if rejected whole.

    Without `writer` the batch is stored in a transaction of its own; with
    one, in the caller's (see BatchWriter). `policy` bounds how far back its
    events may be dated and flags late ones (collector/arrivals.py).
    """

    def reject(reason: str, reason_class: RejectionClass) -> None:
        record_rejection(db, reason=reason, raw=raw, topic=topic_name, received_at=received_at,
                         kiosk=batch.kiosk, epoch=batch.epoch, reason_class=reason_class)

    lookups = writer or BatchWriter()
    producer = lookups.producer(db, batch.kiosk)
    if producer is None and unknown_kiosks is UnknownKiosks.UNASSIGNED:
        ensure_unassigned(db, batch.kiosk)
        producer = lookups.producer(db, batch.kiosk)
    if producer is None:
        reject(f"unknown kiosk {batch.kiosk!r}: register it with `ressenti collector kiosk add`",
               RejectionClass.UNKNOWN_PRODUCER)
        return None
    if producer.retired:
        reject(f"kiosk {batch.kiosk!r} is retired", RejectionClass.RETIRED)
        return None
    if producer.site != batch.site and producer.site != UNASSIGNED:
        reject(f"kiosk {batch.kiosk!r} is registered at site {producer.site!r}, not {batch.site!r}",
               RejectionClass.WRONG_SITE)
        return None
    if (producer.channel is None) != (channel_of_source is None):
        reject(f"{batch.kiosk!r} is a {'kiosk' if producer.channel is None else 'HTTP source'};"
               " it cannot send on this path", RejectionClass.WRONG_PATH)
        return None
    site = lookups.site(db, producer.site)
    assert site is not None  # kiosks reference sites
    if writer is None:
        return store_batch(db, batch, site=site, received_at=received_at, topic=topic_name,
                           channel=channel_of_source, policy=policy)
    return writer.store(db, batch, site=site, received_at=received_at, topic=topic_name, channel=channel_of_source,
                        policy=policy)


@dataclass
class Incoming:
    """An events message read and checked, before any database work: its batch, or why it is refused."""

    topic: str
    payload: bytes
    received_at: datetime
    batch: Batch | None = None
    refusal: str = ""
    refusal_class: RejectionClass = RejectionClass.CONTRACT
    kiosk: str | None = None  # where the refusal is filed
    epoch: str | None = None


def refusal_class(exc: BadBatch) -> RejectionClass:
    """The class a `decode_batch` refusal is counted under."""
    if isinstance(exc, BatchTooLarge):
        return RejectionClass.TOO_LARGE
    if isinstance(exc, NotJSON):
        return RejectionClass.NOT_JSON
    return RejectionClass.CONTRACT


def read_message(topic_name: str, payload: bytes) -> Incoming:
    """Check the topic and decode the batch (no database: several ingest processes do this at once)."""
    incoming = Incoming(topic_name, payload, utc_now())
    try:
        parts = parse_topic(topic_name)
        if parts.kind is not Kind.EVENTS:
            raise BadTopic(f"topic {topic_name!r} is not an events topic")
    except BadTopic as exc:
        incoming.refusal, incoming.refusal_class = str(exc), RejectionClass.TOPIC
        return incoming
    incoming.kiosk = parts.kiosk
    try:
        batch = decode_batch(payload)
    except BadBatch as exc:
        incoming.refusal, incoming.refusal_class = f"unusable batch: {exc}", refusal_class(exc)
        return incoming
    if (batch.kiosk, batch.site) != (parts.kiosk, parts.site):
        incoming.refusal_class = RejectionClass.TOPIC_MISMATCH
        incoming.refusal = (f"batch says kiosk {batch.kiosk!r} site {batch.site!r} but topic says"
                            f" kiosk {parts.kiosk!r} site {parts.site!r}")
        incoming.epoch = batch.epoch
        return incoming
    incoming.batch = batch
    return incoming


def store_message(db: Database, incoming: Incoming, unknown_kiosks: UnknownKiosks = UnknownKiosks.REJECT,
                  writer: BatchWriter | None = None, policy: ArrivalPolicy = DEFAULT_POLICY) -> Stored | None:
    """Store a message `read_message` accepted, or file why it refused it; None if refused whole.

    With `writer`, in the caller's transaction (see accept_batch).
    """
    if incoming.batch is None:
        record_rejection(db, reason=incoming.refusal, raw=incoming.payload, topic=incoming.topic,
                         received_at=incoming.received_at, kiosk=incoming.kiosk, epoch=incoming.epoch,
                         reason_class=incoming.refusal_class)
        return None
    return accept_batch(db, incoming.batch, topic_name=incoming.topic, raw=incoming.payload,
                        received_at=incoming.received_at, unknown_kiosks=unknown_kiosks, writer=writer,
                        policy=policy)


def handle_message(db: Database, topic_name: str, payload: bytes,
                   unknown_kiosks: UnknownKiosks = UnknownKiosks.REJECT,
                   policy: ArrivalPolicy = DEFAULT_POLICY) -> Stored | None:
    """Read and store one MQTT events message in a transaction of its own; None if rejected whole."""
    return store_message(db, read_message(topic_name, payload), unknown_kiosks, policy=policy)
