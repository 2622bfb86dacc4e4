"""Dashboard and wall figures for a set of sites and a period, read from the hourly rollups.

Sites of one organisation may have different scales, so every figure is
also kept in three groups: above the middle of the scale (satisfied), the
middle, below it. Per-face counts are given only when the whole scope has one
scale. Cells with fewer responses than `min_cell` are marked, never shown
(staff privacy, issue 6): the caller prints "not enough responses".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from collector.queries import HOURS, day_range_utc
from collector.registry import Site
from collector.store import hour_bucket

DEFAULT_MIN_CELL = 10
TREND_WEEKS = 4
GROUPS = ("top", "middle", "bottom")


def group_of(scale: int, rating: int) -> str:
    middle = (scale + 1) / 2
    return "top" if rating > middle else "bottom" if rating < middle else "middle"


@dataclass
class Tally:
    """Counts of one cell, per (scale, rating); groups and faces are derived when read.

    Adding is one dict increment: a year of an organisation's rollups goes through here.
    """

    counts: dict[tuple[int, int], int] = field(default_factory=dict)

    def add(self, scale: int, rating: int, n: int) -> None:
        self.counts[(scale, rating)] = self.counts.get((scale, rating), 0) + n

    def merge(self, other: Tally) -> None:
        for (scale, rating), n in other.counts.items():
            self.add(scale, rating, n)

    @classmethod
    def of_count(cls, n: int) -> Tally:
        """A cell that has only a number of answers (a follow-up reason)."""
        return cls({(0, 0): n})

    def _group(self, group: str) -> int:
        return sum(n for (scale, rating), n in self.counts.items() if scale and group_of(scale, rating) == group)

    @property
    def top(self) -> int:
        return self._group("top")

    @property
    def middle(self) -> int:
        return self._group("middle")

    @property
    def bottom(self) -> int:
        return self._group("bottom")

    @property
    def faces(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for (scale, rating), n in self.counts.items():
            if scale and n:
                out[rating] = out.get(rating, 0) + n
        return out

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def satisfaction(self) -> float | None:
        total = self.total
        return self.top / total if total else None

    @property
    def net(self) -> float | None:
        total = self.total
        return (self.top - self.bottom) / total if total else None

    def share(self, n: int) -> float | None:
        total = self.total
        return n / total if total else None


@dataclass
class Report:
    """Everything the dashboard draws for one scope and period (and what the exports write)."""

    sites: list[Site]
    start: date
    end: date
    hours: str
    counts: str  # "filtered" (flagged presses left out) or "raw"
    min_cell: int
    scale: int | None = None  # the scope's one scale, or None when it mixes scales
    raw: Tally = field(default_factory=Tally)
    filtered: Tally = field(default_factory=Tally)
    outside_hours: int = 0
    days: dict[date, Tally] = field(default_factory=dict)
    days_raw_total: dict[date, int] = field(default_factory=dict)
    heat: dict[tuple[int, int], Tally] = field(default_factory=dict)  # (weekday, local hour)
    by_site: dict[str, Tally] = field(default_factory=dict)
    by_channel: dict[str, Tally] = field(default_factory=dict)
    site_days: dict[tuple[str, date], tuple[Tally, Tally]] = field(default_factory=dict)  # raw, filtered

    @property
    def main(self) -> Tally:
        return self.filtered if self.counts == "filtered" else self.raw

    @property
    def flagged(self) -> int:
        return self.raw.total - self.filtered.total

    def enough(self, tally: Tally | int | None) -> bool:
        n = tally.total if isinstance(tally, Tally) else (tally or 0)
        return n >= self.min_cell

    def all_days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]


def build_report(db: Database, sites: list[Site], start: date, end: date, *, hours: str = "all",
                 counts: str = "filtered", min_cell: int = DEFAULT_MIN_CELL) -> Report:
    """Every breakdown of the dashboard, aggregated by SQLite (three grouped scans of the rollups).

    Rollups are per UTC hour; a temporary table maps each UTC hour of the period to the local
    day, weekday and hour of one time zone, so sites are grouped by zone and SQLite sums in C.
    """
    if hours not in HOURS:
        raise ValueError(f"hours must be one of {', '.join(HOURS)}")
    if counts not in ("filtered", "raw"):
        raise ValueError("counts must be filtered or raw")
    report = Report(sites, start, end, hours, counts, min_cell)
    zones: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        zones[site.tz].append(site)
        report.by_site[site.id] = Tally()
    scales: set[int] = set()
    chosen = "n_filtered" if counts == "filtered" else "n_raw"
    open_only = " AND r.in_hours = 1" if hours == "open" else ""
    for zone_sites in zones.values():
        lo, hi = day_range_utc(zone_sites[0], start, end)
        _local_hours(db, zone_sites[0].tz, lo, hi)
        where = f"r.site IN ({','.join('?' * len(zone_sites))}) AND r.hour >= ? AND r.hour < ?"
        params = [*(s.id for s in zone_sites), lo, hi]
        for site_id, day, scale, rating, in_hours, n_raw, n_filtered in db.conn.execute(
            "SELECT r.site, m.day, r.scale, r.rating, r.in_hours, SUM(r.n_raw), SUM(r.n_filtered)"
            f" FROM rollup_hourly r JOIN temp.local_hours m ON m.hour = r.hour WHERE {where}"
            " GROUP BY r.site, m.day, r.scale, r.rating, r.in_hours", params):
            scales.add(scale)
            if not in_hours:
                report.outside_hours += n_raw
                if hours == "open":
                    continue
            _add_day(report, site_id, date.fromisoformat(day), scale, rating, n_raw, n_filtered)
        for weekday, local_hour, scale, rating, n in db.conn.execute(
            f"SELECT m.weekday, m.local_hour, r.scale, r.rating, SUM(r.{chosen})"
            f" FROM rollup_hourly r JOIN temp.local_hours m ON m.hour = r.hour WHERE {where}{open_only}"
            " GROUP BY m.weekday, m.local_hour, r.scale, r.rating", params):
            report.heat.setdefault((weekday, local_hour), Tally()).add(scale, rating, n)
        for channel, scale, rating, n in db.conn.execute(
            f"SELECT r.channel, r.scale, r.rating, SUM(r.{chosen}) FROM rollup_hourly r"
            f" WHERE {where}{open_only} GROUP BY r.channel, r.scale, r.rating", params):
            report.by_channel.setdefault(channel, Tally()).add(scale, rating, n)
    if not scales:
        scales = {s.scale for s in sites}
    report.scale = scales.pop() if len(scales) == 1 else None
    return report


def _add_day(report: Report, site_id: str, day: date, scale: int, rating: int, n_raw: int,
             n_filtered: int) -> None:
    n = n_filtered if report.counts == "filtered" else n_raw
    report.raw.add(scale, rating, n_raw)
    report.filtered.add(scale, rating, n_filtered)
    report.days.setdefault(day, Tally()).add(scale, rating, n)
    report.days_raw_total[day] = report.days_raw_total.get(day, 0) + n_raw
    report.by_site[site_id].add(scale, rating, n)
    raw_day, filtered_day = report.site_days.setdefault((site_id, day), (Tally(), Tally()))
    raw_day.add(scale, rating, n_raw)
    filtered_day.add(scale, rating, n_filtered)


def _local_hours(db: Database, tz: str, lo: str, hi: str) -> None:
    """temp.local_hours: each UTC hour bucket in [lo, hi) with its local day, weekday and hour in `tz`."""
    zone = ZoneInfo(tz)
    moment = datetime.strptime(lo, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    last = datetime.strptime(hi, "%Y-%m-%dT%H").replace(tzinfo=UTC)
    rows = []
    while moment < last:
        local = moment.astimezone(zone)
        rows.append((hour_bucket(moment), local.date().isoformat(), local.weekday(), local.hour))
        moment += timedelta(hours=1)
    db.conn.execute("PRAGMA temp_store = MEMORY")  # a scratch table: never worth a disk write
    db.conn.execute("CREATE TEMP TABLE IF NOT EXISTS local_hours"
                    " (hour TEXT PRIMARY KEY, day TEXT, weekday INTEGER, local_hour INTEGER)")
    db.conn.execute("BEGIN")
    try:
        db.conn.execute("DELETE FROM temp.local_hours")
        db.conn.executemany("INSERT INTO temp.local_hours VALUES (?, ?, ?, ?)", rows)
    finally:
        db.conn.execute("COMMIT")


def previous_satisfaction(db: Database, sites: list[Site], start: date, end: date, *,
                          hours: str = "all", counts: str = "filtered") -> dict[str, Tally]:
    """Each site's tally over the period of the same length just before `start` (for trends)."""
    length = (end - start).days + 1
    before_end = start - timedelta(days=1)
    before_start = before_end - timedelta(days=length - 1)
    column = "n_filtered" if counts == "filtered" else "n_raw"
    out = {}
    for site in sites:
        lo, hi = day_range_utc(site, before_start, before_end)
        tally = Tally()
        clause = " AND in_hours = 1" if hours == "open" else ""
        for scale, rating, n in db.conn.execute(
            f"SELECT scale, rating, SUM({column}) FROM rollup_hourly WHERE site = ? AND hour >= ?"
            f" AND hour < ?{clause} GROUP BY scale, rating", (site.id, lo, hi)):
            tally.add(scale, rating, n)
        out[site.id] = tally
    return out


def followup_answers(db: Database, sites: list[Site], start: date, end: date, *, hours: str = "all",
                     counts: str = "filtered") -> dict[tuple[str, str], int]:
    """(follow-up question, choice) -> answers, from the follow-up rollups (kept after retention)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    column = "n_filtered" if counts == "filtered" else "n_raw"
    clause = " AND in_hours = 1" if hours == "open" else ""
    for site in sites:
        lo, hi = day_range_utc(site, start, end)
        for question, choice, n in db.conn.execute(
            f"SELECT followup_question, choice, SUM({column}) FROM rollup_followup"
            f" WHERE site = ? AND hour >= ? AND hour < ?{clause} GROUP BY 1, 2", (site.id, lo, hi)):
            if n:
                out[(question, choice)] += n
    return dict(out)


# -- the wall display's trend ---------------------------------------------------


def trend_reference(db: Database, site: Site, now: datetime) -> dict[str, Any]:
    """Satisfaction on the same weekday of the previous weeks, up to the same local hour.

    Each previous day counts from local midnight to the end of the current
    local hour, so a morning is compared with mornings (otherwise a morning
    always looks bad or good). The reference is the mean of the days that had
    answers; raw counts, like the wall's own figure.
    """
    local_now = now.astimezone(site.zone)
    buckets: dict[str, int] = {}
    for week in range(1, TREND_WEEKS + 1):
        day = local_now.date() - timedelta(weeks=week)
        lo = datetime.combine(day, time.min, site.zone)
        hi = datetime.combine(day, time(local_now.hour), site.zone) + timedelta(hours=1)
        moment = lo.astimezone(UTC)
        while moment < hi.astimezone(UTC):
            buckets[hour_bucket(moment)] = week
            moment += timedelta(hours=1)
    tallies: dict[int, Tally] = {}
    if buckets:
        for hour, scale, rating, n in db.conn.execute(
            f"SELECT hour, scale, rating, SUM(n_raw) FROM rollup_hourly WHERE site = ?"
            f" AND hour IN ({','.join('?' * len(buckets))}) GROUP BY hour, scale, rating",
            [site.id, *buckets]):
            tallies.setdefault(buckets[hour], Tally()).add(scale, rating, n)
    rates = [t.satisfaction for t in tallies.values() if t.satisfaction is not None]
    return {
        "weekday": local_now.weekday(),
        "until_hour": local_now.hour + 1,
        "weeks": len(rates),
        "reference": round(sum(rates) / len(rates), 4) if rates else None,
    }


def trend(today_satisfaction: float | None, reference: dict[str, Any]) -> dict[str, Any]:
    """Today's satisfaction against the reference, in percentage points."""
    ref = reference["reference"]
    delta = None if today_satisfaction is None or ref is None else round(today_satisfaction - ref, 4)
    return {**reference, "delta": delta}
