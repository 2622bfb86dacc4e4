"""Raw events on PostgreSQL: one partition per month of `ts` (declarative partitioning).

A unique constraint on a partitioned table must contain the partition key,
so `events` is unique on (id, ts) and (kiosk, epoch, seq, ts), not on
(kiosk, epoch, seq) alone. Exactly-once does not rest on those: every batch
is stored under the row lock of its stream's watermark (collector/engine
`lock_streams`), which serialises the writers of one (kiosk, epoch) across
processes and hosts; under it, seqs at or below the watermark are skipped and
seqs above it are looked up before inserting (collector/store.py).

Event ids are unique across partitions through `event_ids` (id PRIMARY KEY), filled by a
row trigger that skips an insert whose id is taken: a replay of an old id under a new
epoch is found as on SQLite.

Months without a partition (far past or future) land in `events_default`.
Retention drops whole months (`drop_months_before`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

COLUMNS = (
    "id TEXT NOT NULL, kiosk TEXT NOT NULL, epoch TEXT NOT NULL, seq BIGINT NOT NULL, site TEXT NOT NULL,"
    " question TEXT, scale BIGINT, rating BIGINT NOT NULL, channel TEXT, flags TEXT, followup TEXT, lang TEXT,"
    ' ts TEXT COLLATE "C" NOT NULL, time_source TEXT, ts_kiosk TEXT, clock TEXT, boot TEXT, up_ms BIGINT,'
    " received_at TEXT, hour TEXT, rowid BIGSERIAL")


def create_events_table(db: Any) -> None:
    conn = db.conn
    conn.execute(f"CREATE TABLE IF NOT EXISTS events ({COLUMNS}, PRIMARY KEY (id, ts)) PARTITION BY RANGE (ts)")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS idx_events_kiosk_epoch_seq ON events (kiosk, epoch, seq, ts)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_events_site_ts ON events (site, ts)")
    conn.execute("CREATE INDEX IF NOT EXISTS idx_events_rowid ON events (rowid)")
    conn.execute("CREATE TABLE IF NOT EXISTS events_default PARTITION OF events DEFAULT")
    # Event ids unique across partitions: a row trigger claims each id in `event_ids` and skips the
    # insert (as ON CONFLICT DO NOTHING would) when the id is stored already.
    conn.execute('CREATE TABLE IF NOT EXISTS event_ids (id TEXT PRIMARY KEY, ts TEXT COLLATE "C" NOT NULL)')
    conn.execute("CREATE INDEX IF NOT EXISTS idx_event_ids_ts ON event_ids (ts)")
    conn.raw.execute("""CREATE OR REPLACE FUNCTION ressenti_claim_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO event_ids (id, ts) VALUES (NEW.id, NEW.ts) ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN RETURN NULL; END IF;
            RETURN NEW;
        END $$""")
    conn.raw.execute("CREATE OR REPLACE TRIGGER events_claim_id BEFORE INSERT ON events"
                     " FOR EACH ROW EXECUTE FUNCTION ressenti_claim_event_id()")
    ensure_months(db, around=datetime.now(UTC).date())


def _month(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def ensure_months(db: Any, *, around: date, back: int = 13, ahead: int = 3) -> list[str]:
    """Partitions for the months from `back` before `around` to `ahead` after; return those made."""
    year, month = around.year, around.month
    for _ in range(back):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    made = []
    for _ in range(back + ahead + 1):
        name = f"events_{year:04d}_{month:02d}"
        if not db.conn.execute("SELECT 1 FROM pg_class WHERE relname = ?", (name,)).fetchone():
            nxt = _next(year, month)
            db.conn.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF events"
                            f" FOR VALUES FROM ('{_month(year, month)}') TO ('{_month(*nxt)}')")
            made.append(name)
        year, month = _next(year, month)
    return made


def drop_months_before(db: Any, cutoff: str) -> int:
    """Drop the monthly partitions that end at or before the cutoff's month; return the events they held."""
    dropped = 0
    for (name,) in db.conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname = 'events' AND c.relname ~ '^events_[0-9]{4}_[0-9]{2}$'"
            " ORDER BY c.relname").fetchall():
        year, month = int(name[7:11]), int(name[12:14])
        if _month(*_next(year, month)) <= cutoff[:7]:
            dropped += db.conn.execute(f"SELECT COUNT(*) FROM {name}").fetchone()[0]
            db.conn.execute(f"DROP TABLE {name}")
    db.conn.execute("DELETE FROM event_ids WHERE ts < ?", (cutoff,))
    return dropped
