"""The `rejected` table: every refusal kept with its reason, in bounded space and bounded work.

A refused message is never silently dropped (the producer would resend
forever and operators would see nothing), but a flood of them must not fill
the disk or slow the ingest (issue 17):

- only a prefix of the raw bytes is kept, with their full length and SHA-256;
- a whole-message refusal is counted in one row per (producer, class of
  reason, 10-minute bucket): `count`, `received_at` (first seen) and
  `last_seen` say how many and when;
- `RefusalLimiter` lets a producer whose messages keep being refused cost no
  more than a few decodes a second; the rest are counted as `rate_limited`;
- `collector.retention.purge_rejected` deletes old rows.

Event-level rejections (`seq` set) stay one row per seq: the ack watermark
passes over them.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime, timedelta
from enum import StrEnum

from sqlite_utils import Database

from ressenti.protocol import format_ts

log = logging.getLogger(__name__)

RAW_PREFIX_BYTES = 2048
# One row per producer and class of reason in this bucket; a kiosk resends an unacked batch every few seconds.
REJECTION_BUCKET = timedelta(minutes=10)


class RejectionClass(StrEnum):
    """Why a message was refused, coarse enough to count a flood in one row."""

    TOPIC = "topic"  # not a kiosk events topic
    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"  # not JSON, not UTF-8, nested too deeply
    CONTRACT = "contract"  # JSON, but not a v1 batch
    TOPIC_MISMATCH = "topic_mismatch"  # the body's kiosk or site is not the topic's
    UNKNOWN_PRODUCER = "unknown_producer"
    RETIRED = "retired"
    WRONG_SITE = "wrong_site"
    WRONG_PATH = "wrong_path"  # a kiosk over HTTP, or a source over MQTT
    WRONG_SOURCE = "wrong_source"  # an HTTP body for another source than the token's
    STORE_ERROR = "store_error"  # the database refused the batch
    READ_ERROR = "read_error"  # a bug while reading it
    RATE_LIMITED = "rate_limited"  # refused too often: not even decoded
    EVENT = "event"  # one event of a batch (seq set)


def _bucket(moment: datetime) -> str:
    seconds = int(REJECTION_BUCKET.total_seconds())
    return format_ts(datetime.fromtimestamp(moment.timestamp() // seconds * seconds, moment.tzinfo))


def record_rejection(db: Database, *, reason: str, raw: bytes, topic: str, received_at: datetime,
                     kiosk: str | None = None, epoch: str | None = None, seq: int | None = None,
                     reason_class: RejectionClass = RejectionClass.CONTRACT) -> bool:
    """Keep a refusal with its reason; False if it was counted in a row of the same bucket."""
    seen = format_ts(received_at)
    key = None
    if seq is None:  # a whole message: counted with the same producer's same refusals
        key = f"{kiosk or '-'} {reason_class.value} {_bucket(received_at)}"
        if db.conn.execute("UPDATE rejected SET count = count + 1, last_seen = max(last_seen, ?)"
                           " WHERE dedupe_key = ?", (seen, key)).rowcount:
            log.debug("rejected again %s (kiosk %s): %s", topic, kiosk, reason)
            return False
    log.warning("rejected %s (kiosk %s, seq %s): %s", topic, kiosk, seq, reason)
    db.conn.execute(
        "INSERT INTO rejected (received_at, last_seen, kiosk, epoch, seq, topic, reason, reason_class, raw,"
        " raw_len, raw_sha256, count, dedupe_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)"
        " ON CONFLICT (dedupe_key) DO UPDATE SET count = rejected.count + 1,"
        " last_seen = max(rejected.last_seen, excluded.last_seen)",
        (seen, seen, kiosk, epoch, seq, topic[:200], reason[:500], reason_class.value, raw[:RAW_PREFIX_BYTES],
         len(raw), hashlib.sha256(raw).hexdigest(), key))
    return True


class RefusalLimiter:
    """A token bucket per producer, spent by each refused message.

    A producer whose messages are refused more than `burst` times, faster
    than `per_second`, has its next messages refused as `rate_limited`
    without being decoded, until its bucket refills. A producer that sends
    valid batches never spends a token. In memory: each ingest process and
    web worker has its own.
    """

    def __init__(self, burst: float = 20, per_second: float = 2.0, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.burst, self.per_second, self.clock = burst, per_second, clock
        self._buckets: dict[str | None, tuple[float, float]] = {}  # producer: (tokens, at)

    def _tokens(self, producer: str | None) -> float:
        tokens, at = self._buckets.get(producer, (self.burst, self.clock()))
        return min(self.burst, tokens + (self.clock() - at) * self.per_second)

    def limited(self, producer: str | None) -> bool:
        """True while the producer has no token left: refuse without decoding."""
        return producer in self._buckets and self._tokens(producer) < 1

    def refused(self, producer: str | None) -> None:
        """Spend a token of a producer whose message was refused."""
        self._buckets[producer] = (max(0.0, self._tokens(producer) - 1), self.clock())
        if len(self._buckets) > 10_000:  # producers come and go: forget the ones that are full again
            self._buckets = {p: v for p, v in self._buckets.items() if self._tokens(p) < self.burst}
