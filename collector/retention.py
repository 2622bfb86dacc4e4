"""Retention: raw events older than N days are deleted; rollups (the figures) are kept.

Rejected input is purged too (`purge_rejected`: rows of collector/rejections.py last seen
longer ago than N days).

Exactly-once survives the purge: the ingest skips any seq at or below its
stream's ack watermark, so a late resend of a purged event is not counted
again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlite_utils import Database

from collector.engine import is_postgres
from ressenti.protocol import format_ts, utc_now


def purge_raw_events(db: Database, older_than_days: int, *, batch_size: int = 10_000) -> int:
    """Delete raw events counted more than `older_than_days` ago; return how many."""
    if older_than_days < 1:
        raise ValueError("keep raw events at least one day")
    if is_postgres(db):  # whole months first (collector/engine/partitions.py), then the rest row by row
        from collector.engine.partitions import drop_months_before

        cutoff = format_ts(utc_now() - timedelta(days=older_than_days))
        return drop_months_before(db, cutoff) + _delete_before(db, "events", "ts", older_than_days, batch_size)
    return _delete_before(db, "events", "ts", older_than_days, batch_size)


def purge_rejected(db: Database, older_than_days: int, *, batch_size: int = 10_000) -> int:
    """Delete rejected rows last seen more than `older_than_days` ago; return how many."""
    if older_than_days < 1:
        raise ValueError("keep rejected input at least one day")
    return _delete_before(db, "rejected", "last_seen", older_than_days, batch_size, key="id")


def _delete_before(db: Database, table: str, column: str, older_than_days: int, batch_size: int,
                   key: str = "rowid") -> int:
    """`rowid`: SQLite's own, and a real column of PostgreSQL's `events`."""
    cutoff = format_ts(utc_now() - timedelta(days=older_than_days))
    total = 0
    while True:  # small transactions, so ingest is never blocked for long
        deleted = db.conn.execute(
            f"DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {column} < ? LIMIT ?)",
            (cutoff, batch_size)).rowcount
        total += deleted
        if deleted < batch_size:
            return total
