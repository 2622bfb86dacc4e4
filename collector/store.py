"""Writes a decoded batch once: events, rejections, rollups and the ack watermark in one transaction.

Exactly once: under `BEGIN IMMEDIATE` (one writer at a time, even across
ingest processes) events whose id or (kiosk, epoch, seq) is already stored are
skipped, and only new ones are added to the hourly rollups.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlite_utils import Database

from ressenti.protocol import Ack, Batch, Event, format_ts, place_in_time

log = logging.getLogger(__name__)

# Do not store the same whole-batch rejection again within this window: a
# kiosk resends an unacked batch every few seconds.
REJECTION_REPEAT_WINDOW = timedelta(minutes=10)


@dataclass
class Stored:
    """What one batch changed, for the ack and the live displays."""

    ack: Ack
    site: str
    new_ratings: list[int] = field(default_factory=list)
    duplicates: int = 0


def hour_bucket(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")


def record_rejection(db: Database, *, reason: str, raw: bytes, topic: str, received_at: datetime,
                     kiosk: str | None = None, epoch: str | None = None, seq: int | None = None) -> bool:
    """Keep a rejected message with its reason; return False if it repeats a recent one."""
    log.warning("rejected %s (kiosk %s, seq %s): %s", topic, kiosk, seq, reason)
    if seq is None:
        since = format_ts(received_at - REJECTION_REPEAT_WINDOW)
        if db["rejected"].count_where(
            "kiosk IS ? AND reason = ? AND seq IS NULL AND received_at >= ?", [kiosk, reason, since]
        ):
            return False
    db["rejected"].insert({
        "received_at": format_ts(received_at), "kiosk": kiosk, "epoch": epoch, "seq": seq,
        "topic": topic, "reason": reason, "raw": raw,
    })
    return True


def store_batch(db: Database, batch: Batch, *, site: str, received_at: datetime, topic: str) -> Stored:
    """Store a batch whose kiosk and site are already checked; return the ack to send."""
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        stored = _store_locked(db, batch, site, received_at, topic)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return stored


def _store_locked(db: Database, batch: Batch, site: str, received_at: datetime, topic: str) -> Stored:
    conn = db.conn
    events = batch.events
    stored = Stored(Ack(batch.epoch, 0), site)
    if events:
        lo, hi = events[0].seq, events[-1].seq
        seen_seqs = {r[0] for r in conn.execute(
            "SELECT seq FROM events WHERE kiosk = ? AND epoch = ? AND seq BETWEEN ? AND ?",
            (batch.kiosk, batch.epoch, lo, hi))}
        ids = [e.id for e in events]
        seen_ids = {r[0] for r in conn.execute(
            f"SELECT id FROM events WHERE id IN ({','.join('?' * len(ids))})", ids)}
        fresh = [e for e in events if e.seq not in seen_seqs and e.id not in seen_ids]
        stored.duplicates = len(events) - len(fresh)
        _insert_events(db, batch, fresh, site, received_at)
        stored.new_ratings = [e.rating for e in fresh]

    already_rejected = {r[0] for r in conn.execute(
        "SELECT seq FROM rejected WHERE kiosk = ? AND epoch = ? AND seq IS NOT NULL",
        (batch.kiosk, batch.epoch))} if batch.rejected else set()
    ack_rejections = []
    for bad in batch.rejected:
        raw = json.dumps(bad.raw, separators=(",", ":"), default=str).encode()
        if bad.seq is None:
            record_rejection(db, reason=bad.reason, raw=raw, topic=topic, received_at=received_at,
                             kiosk=batch.kiosk, epoch=batch.epoch)
            continue
        if bad.seq not in already_rejected:
            record_rejection(db, reason=bad.reason, raw=raw, topic=topic, received_at=received_at,
                             kiosk=batch.kiosk, epoch=batch.epoch, seq=bad.seq)
        ack_rejections.append((bad.seq, bad.reason))

    through = _advance_stream(db, batch, received_at)
    stored.ack = Ack(batch.epoch, through, tuple(ack_rejections))
    return stored


def _insert_events(db: Database, batch: Batch, events: list[Event], site: str,
                   received_at: datetime) -> None:
    if not events:
        return
    rows, rollup = [], Counter()
    received = format_ts(received_at)
    for e in events:
        ts, source = place_in_time(e, batch, received_at)
        if source.value not in ("kiosk", "unsynced", "corrected"):
            log.warning("event %s of %s: clock %s ts %s implausible; counted at receive time",
                        e.id, batch.kiosk, e.clock.value, format_ts(e.ts))
        hour = hour_bucket(ts)
        rows.append((
            e.id, batch.kiosk, batch.epoch, e.seq, site, e.question, e.scale, e.rating,
            e.input.value, json.dumps(list(e.flags)), json.dumps(e.followup) if e.followup else None,
            e.lang, format_ts(ts), source.value, format_ts(e.ts), e.clock.value, e.boot, e.up_ms,
            received, hour,
        ))
        rollup[(site, hour, e.question, e.input.value, e.scale, e.rating, not e.flags)] += 1
    db.conn.executemany(
        "INSERT INTO events (id, kiosk, epoch, seq, site, question, scale, rating, channel, flags,"
        " followup, lang, ts, time_source, ts_kiosk, clock, boot, up_ms, received_at, hour)"
        " VALUES (" + ",".join("?" * 20) + ")", rows)
    add_to_rollups(db, rollup)


def add_to_rollups(db: Database, counts: Counter) -> None:
    """counts: (site, hour, question, channel, scale, rating, unflagged) -> number of events."""
    merged: Counter = Counter()
    for (site, hour, question, channel, scale, rating, unflagged), n in counts.items():
        key = (site, hour, question, channel, scale, rating)
        merged[key + ("raw",)] += n
        if unflagged:
            merged[key + ("filtered",)] += n
    keys = {k[:-1] for k in merged}
    db.conn.executemany(
        "INSERT INTO rollup_hourly (site, hour, question, channel, scale, rating, n_raw, n_filtered)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (site, hour, question, channel, scale, rating) DO UPDATE SET"
        " n_raw = n_raw + excluded.n_raw, n_filtered = n_filtered + excluded.n_filtered",
        [(*k, merged[k + ("raw",)], merged[k + ("filtered",)]) for k in keys])


def _advance_stream(db: Database, batch: Batch, received_at: datetime) -> int:
    """Move the (kiosk, epoch) watermark over every seq now stored or rejected."""
    conn = db.conn
    row = conn.execute("SELECT through, max_seq, dropped_through FROM streams WHERE kiosk = ? AND epoch = ?",
                       (batch.kiosk, batch.epoch)).fetchone()
    through, max_seq, dropped = row if row else (0, 0, 0)
    dropped = max(dropped, batch.dropped_through)
    through = max(through, dropped)
    seqs = [e.seq for e in batch.events] + [r.seq for r in batch.rejected if r.seq is not None]
    max_seq = max([max_seq, *seqs])
    while True:
        nxt = [r[0] for r in conn.execute(
            "SELECT seq FROM events WHERE kiosk = ? AND epoch = ? AND seq > ?"
            " UNION SELECT seq FROM rejected WHERE kiosk = ? AND epoch = ? AND seq > ?"
            " ORDER BY 1 LIMIT 1000",
            (batch.kiosk, batch.epoch, through, batch.kiosk, batch.epoch, through))]
        advanced = 0
        for seq in nxt:
            if seq != through + 1:
                break
            through, advanced = seq, advanced + 1
        if advanced < 1000:
            break
    now = format_ts(received_at)
    conn.execute(
        "INSERT INTO streams (kiosk, epoch, through, max_seq, dropped_through, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kiosk, epoch) DO UPDATE SET"
        " through = excluded.through, max_seq = excluded.max_seq,"
        " dropped_through = excluded.dropped_through, last_seen = excluded.last_seen",
        (batch.kiosk, batch.epoch, through, max_seq, dropped, now, now))
    return through
