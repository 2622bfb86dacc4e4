"""Writes a decoded batch once: events, rejections, rollups and the ack watermark in one transaction.

Exactly once: under `BEGIN IMMEDIATE` (one writer at a time, even across
ingest processes) events at or below the stream's ack watermark, or whose
(kiosk, epoch, seq) is already stored, are skipped; an event whose id is
stored under another seq is rejected as a replay, with its reason; only new
ones are added to the hourly rollups.

`store_batch` stores one batch in its own transaction. The ingest worker
stores many in one with a `BatchWriter`, which makes their shared writes
(rollups, watermarks) once and remembers what it read between transactions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlite_utils import Database

from collector.arrivals import LATE_FLAG, ArrivalPolicy
from collector.db import write_transaction
from collector.engine import data_version, lock_streams
from collector.registry import Producer, Site, get_producer, get_site
from collector.rejections import RejectionClass, record_rejection
from collector.rollups import RollupCounts
from ressenti.protocol import Ack, Batch, Event, RejectedEvent, TimeSource, format_ts, place_in_time

log = logging.getLogger(__name__)

StreamRow = tuple[int, int, int]  # through, max_seq, dropped_through of a (kiosk, epoch)
StreamKey = tuple[str, str]  # kiosk, epoch

@dataclass
class Stored:
    """What one batch changed, for the ack and the live displays."""

    ack: Ack
    site: str
    kiosk: str
    new_ratings: list[int] = field(default_factory=list)
    duplicates: int = 0


def hour_bucket(moment: datetime) -> str:
    """`YYYY-MM-DDTHH` of a UTC moment."""
    return moment.astimezone(UTC).isoformat()[:13]


class BatchWriter:
    """Stores batches in the caller's transaction and makes their shared writes once, in `flush`.

    The rollup counts and stream watermarks of every batch stored wait in
    memory until `flush`, which the caller runs before its commit. Between
    transactions the writer keeps the producers, sites and watermarks it
    read, for as long as no other connection commits: `begin`, run once the
    write lock is held, compares `PRAGMA data_version`. After a rollback the
    caller must `forget`.
    """

    def __init__(self) -> None:
        self.rollups = RollupCounts()
        self._late: dict[tuple[str, str, str], list] = {}  # (site, kiosk, local day): [n, first, last arrival]
        self._streams: dict[StreamKey, StreamRow] = {}
        self._unwritten: dict[StreamKey, tuple[str, str]] = {}  # first and last seen, of this transaction
        self._producers: dict[str, Producer] = {}
        self._sites: dict[str, Site] = {}
        self._version: int | None = None

    def begin(self, db: Database) -> None:
        """At the start of a write transaction: drop what another connection may have changed."""
        version = data_version(db)
        if version != self._version:
            self.forget()
            self._version = version

    def forget(self) -> None:
        self.rollups = RollupCounts()
        self._late.clear()
        self._streams.clear()
        self._unwritten.clear()
        self._producers.clear()
        self._sites.clear()
        self._version = None

    def producer(self, db: Database, producer_id: str) -> Producer | None:
        producer = self._producers.get(producer_id)
        if producer is None:
            producer = get_producer(db, producer_id)
            if producer is not None:  # an unknown one is not kept: it may be registered next
                self._producers[producer_id] = producer
        return producer

    def site(self, db: Database, site_id: str) -> Site | None:
        site = self._sites.get(site_id)
        if site is None:
            site = get_site(db, site_id)
            if site is not None:
                self._sites[site_id] = site
        return site

    def store(self, db: Database, batch: Batch, *, site: Site, received_at: datetime, topic: str,
              channel: str | None = None, policy: ArrivalPolicy | None = None) -> Stored:
        """Store a batch whose producer and site are checked, inside the caller's transaction.

        With `policy`, events older than it allows are rejected and late ones flagged (collector/arrivals.py).
        """
        return _store_locked(db, batch, site, received_at, topic, channel, self, policy)

    def flush(self, db: Database) -> None:
        """Write the waiting watermarks and rollup counts (before the caller's commit)."""
        if self._unwritten:
            db.conn.executemany(
                "INSERT INTO streams (kiosk, epoch, through, max_seq, dropped_through, first_seen, last_seen)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kiosk, epoch) DO UPDATE SET"
                " through = excluded.through, max_seq = excluded.max_seq,"
                " first_seen = COALESCE(streams.first_seen, excluded.first_seen),"
                " dropped_through = excluded.dropped_through, last_seen = excluded.last_seen",
                [(*key, *self._streams[key], *seen) for key, seen in self._unwritten.items()])
            self._unwritten.clear()
        self.rollups.write(db)
        self.rollups = RollupCounts()
        if self._late:
            db.conn.executemany(
                "INSERT INTO late_arrivals (site, kiosk, day, n, first_arrival, last_arrival) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (site, kiosk, day) DO UPDATE SET n = late_arrivals.n + excluded.n,"
                " last_arrival = max(late_arrivals.last_arrival, excluded.last_arrival)",
                [(*key, *value) for key, value in self._late.items()])
            self._late.clear()

    def count_late(self, site: str, kiosk: str, day: str, arrival: str) -> None:
        """One more late event of a kiosk for a local day, written at `flush`."""
        counted = self._late.setdefault((site, kiosk, day), [0, arrival, arrival])
        counted[0] += 1
        counted[2] = arrival

    def stream(self, db: Database, key: StreamKey) -> StreamRow:
        row = self._streams.get(key)
        if row is None:
            lock_streams(db, [key])  # PostgreSQL: this stream's watermark row, held until the commit
            row = db.conn.execute("SELECT through, max_seq, dropped_through FROM streams WHERE kiosk = ? AND epoch = ?",
                                  key).fetchone() or (0, 0, 0)
            self._streams[key] = row
        return row

    def set_stream(self, key: StreamKey, row: StreamRow, seen: str) -> None:
        self._streams[key] = row
        first = self._unwritten[key][0] if key in self._unwritten else seen
        self._unwritten[key] = (first, seen)


def store_batch(db: Database, batch: Batch, *, site: Site, received_at: datetime, topic: str,
                channel: str | None = None, policy: ArrivalPolicy | None = None) -> Stored:
    """Store a batch whose producer and site are checked, in a transaction of its own; return the ack to send.

    `channel` replaces the events' own `input` (HTTP sources: web, phone).
    """
    writer = BatchWriter()
    with write_transaction(db):
        stored = writer.store(db, batch, site=site, received_at=received_at, topic=topic, channel=channel,
                              policy=policy)
        writer.flush(db)
    return stored


def _store_locked(db: Database, batch: Batch, site: Site, received_at: datetime, topic: str,
                  channel: str | None, writer: BatchWriter, policy: ArrivalPolicy | None) -> Stored:
    conn = db.conn
    key = (batch.kiosk, batch.epoch)
    stream = writer.stream(db, key)
    through, max_seq, _ = stream
    stored = Stored(Ack(batch.epoch, 0), site.id, batch.kiosk)
    # Below the watermark everything is already resolved, even events whose
    # raw rows were since removed by retention.
    events = [e for e in batch.events if e.seq > through]
    landed: set[int] = set()  # seqs above the watermark this batch stored (events or rejections)
    rejected = batch.rejected  # not extended in place: a failed group stores the same batch again
    if events:
        # Nothing stored above the watermark (the usual case): no seq can repeat.
        if max_seq > through:
            seen_seqs = {r[0] for r in conn.execute(
                "SELECT seq FROM events WHERE kiosk = ? AND epoch = ? AND seq BETWEEN ? AND ?",
                (batch.kiosk, batch.epoch, events[0].seq, events[-1].seq))}
            events = [e for e in events if e.seq not in seen_seqs]
        placed = [place_in_time(e, batch, received_at) for e in events]
        if policy is not None and placed:
            # One look at the oldest event settles the usual batch (nothing old, nothing late).
            oldest = received_at - min(ts for ts, _ in placed)
            if oldest > policy.max_past:
                events, placed, too_old = _within_policy(events, placed, received_at, policy)
                rejected = rejected + too_old
            if oldest < policy.late_after:
                policy = None
        fresh = _insert_events(db, batch, events, placed, site, received_at, channel, writer, policy)
        stored.new_ratings = [e.rating for e in fresh]
        landed.update(e.seq for e in fresh)
        if len(fresh) < len(events):  # ids already stored under another (kiosk, epoch, seq): a replay
            new = {e.seq for e in fresh}
            rejected = rejected + _replayed(db, [e for e in events if e.seq not in new])
    stored.duplicates = len(batch.events) - len(stored.new_ratings)

    ack_rejections = []
    pending_rejections = [r for r in rejected if r.seq is None or r.seq > through]
    already = {r[0] for r in conn.execute(
        "SELECT seq FROM rejected WHERE kiosk = ? AND epoch = ? AND seq IS NOT NULL AND seq > ?",
        (batch.kiosk, batch.epoch, through))} if pending_rejections else set()
    for bad in pending_rejections:
        raw = json.dumps(bad.raw, separators=(",", ":"), default=str).encode()
        if bad.seq is None or bad.seq not in already:
            record_rejection(db, reason=bad.reason, raw=raw, topic=topic, received_at=received_at,
                             kiosk=batch.kiosk, epoch=batch.epoch, seq=bad.seq, reason_class=RejectionClass.EVENT)
        if bad.seq is not None:
            ack_rejections.append((bad.seq, bad.reason))
            landed.add(bad.seq)

    stored.ack = Ack(batch.epoch, _advance_stream(db, batch, received_at, stream, landed, writer),
                     tuple(ack_rejections))
    return stored


def _replayed(db: Database, events: list[Event]) -> list[RejectedEvent]:
    """Rejections for events whose id is stored already under another seq: counted once, resolved for the ack."""
    where = dict(db.conn.execute(
        f"SELECT id, kiosk || ' ' || epoch || ' seq ' || seq FROM events WHERE id IN ({','.join('?' * len(events))})",
        [e.id for e in events]))
    return [RejectedEvent(e.seq, f"event id {e.id} is already stored ({where.get(e.id, 'earlier')}): a replay",
                          e.to_wire()) for e in events]


Placed = tuple[datetime, TimeSource]  # where place_in_time counts an event


def _within_policy(events: list[Event], placed: list[Placed], received_at: datetime, policy: ArrivalPolicy,
                   ) -> tuple[list[Event], list[Placed], list[RejectedEvent]]:
    """The events the policy accepts (and their placements), and rejections for those dated too far back."""
    why = [policy.too_old(ts, received_at) for ts, _ in placed]
    return ([e for e, w in zip(events, why, strict=True) if w is None],
            [p for p, w in zip(placed, why, strict=True) if w is None],
            [RejectedEvent(e.seq, w, e.to_wire()) for e, w in zip(events, why, strict=True) if w])


def _insert_events(db: Database, batch: Batch, events: list[Event], placed: list[Placed], site: Site,
                   received_at: datetime, channel: str | None, writer: BatchWriter,
                   policy: ArrivalPolicy | None) -> list[Event]:
    """Insert the events whose id is not stored yet; add them to the rollups and return them.

    With `policy`, events that arrive late are flagged and counted (collector/arrivals.py).

    The insert skips an id already stored (a replay under another epoch) by
    itself; only when it skipped one does this ask which.
    """
    if not events:
        return []
    rows, keys, late_days = [], [], []
    received = format_ts(received_at)
    zone = site.zone if policy is not None else None
    for e, (ts, source) in zip(events, placed, strict=True):
        if source is TimeSource.RECEIVED:
            log.warning("event %s of %s: clock %s ts %s implausible; counted at receive time",
                        e.id, batch.kiosk, e.clock.value, format_ts(e.ts))
        kiosk_text = e.ts_wire()
        ts_text = kiosk_text if ts is e.ts else format_ts(ts)
        hour = ts_text[:13]  # hour_bucket(ts), from the text already made
        event_channel = channel or e.input.value
        in_hours = int(site.is_open(ts))
        late_day = policy.late_day(ts, received_at, zone) if policy is not None else None
        flag_list = [*e.flags, LATE_FLAG] if late_day and LATE_FLAG not in e.flags else list(e.flags)
        flags = json.dumps(flag_list) if flag_list else "[]"
        rows.append((
            e.id, batch.kiosk, batch.epoch, e.seq, site.id, e.question, e.scale, e.rating,
            event_channel, flags, json.dumps(e.followup) if e.followup else None,
            e.lang, ts_text, source.value, kiosk_text, e.clock.value, e.boot, e.up_ms,
            received, hour, in_hours, int(late_day is not None),
        ))
        keys.append((site.id, hour, e.question, event_channel, in_hours))
        late_days.append(late_day)
    inserted = db.conn.executemany(
        "INSERT INTO events (id, kiosk, epoch, seq, site, question, scale, rating, channel, flags,"
        " followup, lang, ts, time_source, ts_kiosk, clock, boot, up_ms, received_at, hour, in_hours, late)"
        " VALUES (" + ",".join("?" * 22) + ") ON CONFLICT DO NOTHING", rows).rowcount
    new = range(len(events))
    if inserted != len(events):
        ours = dict(db.conn.execute(
            "SELECT seq, id FROM events WHERE kiosk = ? AND epoch = ? AND seq BETWEEN ? AND ?",
            (batch.kiosk, batch.epoch, events[0].seq, events[-1].seq)))
        new = [i for i, e in enumerate(events) if ours.get(e.seq) == e.id]
    for i in new:
        late_day = late_days[i]
        _count(writer.rollups, events[i], keys[i], flagged=bool(events[i].flags or late_day))
        if late_day:
            writer.count_late(site.id, batch.kiosk, late_day, received)
    return [events[i] for i in new]


def _count(counts: RollupCounts, e: Event, key: tuple[str, str, str, str, int], *, flagged: bool) -> None:
    site, hour, question, channel, in_hours = key
    rating = (site, hour, question, channel, e.scale, e.rating, in_hours)
    counts.raw[rating] += 1
    if not flagged:
        counts.filtered[rating] += 1
    if e.followup:
        answer = (site, hour, question, channel, e.followup["question"], e.followup["choice"], in_hours)
        counts.followups_raw[answer] += 1
        if not flagged:
            counts.followups_filtered[answer] += 1


def _stored_through(db: Database, batch: Batch, through: int) -> int:
    """The highest seq up to which every seq after `through` is stored or rejected (read from the tables)."""
    while True:
        following = [r[0] for r in db.conn.execute(
            "SELECT seq FROM events WHERE kiosk = ? AND epoch = ? AND seq > ?"
            " UNION SELECT seq FROM rejected WHERE kiosk = ? AND epoch = ? AND seq > ?"
            " ORDER BY 1 LIMIT 1000",
            (batch.kiosk, batch.epoch, through, batch.kiosk, batch.epoch, through))]
        advanced = 0
        for seq in following:
            if seq != through + 1:
                break
            through, advanced = seq, advanced + 1
        if advanced < 1000:
            return through


def _advance_stream(db: Database, batch: Batch, received_at: datetime, stream: StreamRow,
                    landed: set[int], writer: BatchWriter) -> int:
    """Move the (kiosk, epoch) watermark over every seq now stored, rejected or declared dropped.

    `stream` is the row read before this batch; `landed` what the batch
    stored above its watermark.
    """
    through, max_seq, dropped = stream
    dropped = max(dropped, batch.dropped_through)
    seqs = [e.seq for e in batch.events] + [r.seq for r in batch.rejected if r.seq is not None]
    # Nothing stored above the watermark before (the usual case): what follows it is exactly what this batch brought.
    nothing_above = max_seq <= through
    through = max(through, dropped)
    if nothing_above:
        while through + 1 in landed:
            through += 1
    else:
        through = _stored_through(db, batch, through)
    max_seq = max([max_seq, *seqs])
    writer.set_stream((batch.kiosk, batch.epoch), (through, max_seq, dropped), format_ts(received_at))
    return through
