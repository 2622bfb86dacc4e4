"""Retention: raw events older than N days are deleted; rollups (the figures) are kept.

Rejected input is purged too (`purge_rejected`, from collector/rejections.py).

Exactly-once survives the purge: the ingest skips any seq at or below its
stream's ack watermark, so a late resend of a purged event is not counted
again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from collector.rejections import purge_rejected
from ressenti.protocol import format_ts, utc_now

__all__ = ["purge_raw_events", "purge_rejected"]


def purge_raw_events(db: Database, older_than_days: int, *, batch_size: int = 10_000) -> int:
    """Delete raw events counted more than `older_than_days` ago; return how many."""
    if older_than_days < 1:
        raise ValueError("keep raw events at least one day")
    cutoff = format_ts(utc_now() - timedelta(days=older_than_days))
    total = 0
    while True:  # small transactions, so ingest is never blocked for long
        deleted = db.conn.execute(
            "DELETE FROM events WHERE rowid IN (SELECT rowid FROM events WHERE ts < ? LIMIT ?)",
            (cutoff, batch_size)).rowcount
        total += deleted
        if deleted < batch_size:
            return total
