"""Kiosk availability: stretches of time each kiosk was online, and the share of opening hours they cover.

The `kiosk_status` table keeps only a kiosk's latest status. Each online
heartbeat (every 60 s) also extends the kiosk's current stretch in
`kiosk_uptime`, or starts a new one after a silence longer than STALE_AFTER
(the fleet page's rule): one row per continuous online stretch, not per
heartbeat. A stretch counts as online until HEARTBEAT after its last heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlite_utils import Database

from collector.db import write_transaction
from collector.registry import WEEKDAYS, Site
from ressenti.protocol import format_ts, parse_ts

STALE_AFTER = timedelta(minutes=3)  # collector/fleet.py: silent longer than this is offline
HEARTBEAT = timedelta(seconds=60)


def note_online(db: Database, kiosk: str, site: str, at: datetime) -> None:
    """An online heartbeat: extend the kiosk's current stretch, or start one."""
    stamp = format_ts(at)
    with write_transaction(db):
        row = db.execute("SELECT id, last_seen FROM kiosk_uptime WHERE kiosk = ? ORDER BY id DESC LIMIT 1",
                         [kiosk]).fetchone()
        if row is not None and timedelta(0) <= at - parse_ts(row[1]) <= STALE_AFTER:
            db.execute("UPDATE kiosk_uptime SET last_seen = ? WHERE id = ?", [stamp, row[0]])
        elif row is None or at > parse_ts(row[1]):  # an old, replayed heartbeat changes nothing
            db.execute("INSERT INTO kiosk_uptime (kiosk, site, since, last_seen) VALUES (?, ?, ?, ?)",
                       [kiosk, site, stamp, stamp])


def opening_intervals(site: Site, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """The site's opening hours over local days first..last, in UTC (every hour without opening hours)."""
    out = []
    day = first
    while day <= last:
        if site.opening_hours is None:
            ranges = [(time.min, time.max)]
        else:
            ranges = site.opening_hours.get(WEEKDAYS[day.weekday()], [])
        for start, end in ranges:
            out.append((datetime.combine(day, start, site.zone).astimezone(UTC),
                        datetime.combine(day, end, site.zone).astimezone(UTC)))
        day += timedelta(days=1)
    return out


@dataclass
class Availability:
    kiosk: str
    share: float | None  # online share of the opening hours known, None without any
    since: datetime | None  # when the history starts, if after the period's start


def _overlap(a: list[tuple[datetime, datetime]], b: list[tuple[datetime, datetime]]) -> float:
    total = 0.0
    for lo, hi in a:
        for lo2, hi2 in b:
            start, end = max(lo, lo2), min(hi, hi2)
            if end > start:
                total += (end - start).total_seconds()
    return total


def availability(db: Database, site: Site, kiosk: str, first: date, last: date, now: datetime) -> Availability:
    """The kiosk's online share of the site's opening hours over the period, from its history's start."""
    start_row = db.execute("SELECT MIN(since) FROM kiosk_uptime").fetchone()
    if start_row[0] is None:
        return Availability(kiosk, None, None)
    history = parse_ts(start_row[0])
    hours = opening_intervals(site, first, last)
    # Said when the history starts after the period's first opening: the share covers less than the period.
    since = history if hours and history > hours[0][0] else None
    opening = [(max(lo, history), min(hi, now)) for lo, hi in hours]
    opening = [(lo, hi) for lo, hi in opening if hi > lo]
    open_s = sum((hi - lo).total_seconds() for lo, hi in opening)
    if not open_s:
        return Availability(kiosk, None, since)
    lo, hi = opening[0][0], opening[-1][1]
    online = [(parse_ts(a), parse_ts(b) + HEARTBEAT) for a, b in db.execute(
        "SELECT since, last_seen FROM kiosk_uptime WHERE kiosk = ? AND since < ? AND last_seen >= ?",
        [kiosk, format_ts(hi), format_ts(lo - HEARTBEAT)])]
    return Availability(kiosk, min(1.0, _overlap(opening, online) / open_s), since)
