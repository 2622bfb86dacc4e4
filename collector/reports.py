"""Dashboard and wall figures for a set of sites and a period, read from the rollups.

Long periods read the rollups per local day, week, month and year; the hourly
ones give the same figures and remain the source for zones with half-hour
offsets (`collector/report_cells.py`).

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

from sqlite_utils import Database

from collector.bands import Band, band_of, shares_comparable
from collector.periods import Span, bucket_unit, starts
from collector.publication import DEFAULT_MIN_CELL, enough
from collector.queries import HOURS
from collector.registry import Site
from collector.report_cells import cells_for
from collector.store import hour_bucket

TREND_WEEKS = 4
GROUPS = ("top", "middle", "bottom")  # the bands (collector/bands.py), as the charts' CSS names them
_GROUP_OF_BAND = {Band.SATISFIED: "top", Band.NEUTRAL: "middle", Band.DISSATISFIED: "bottom"}


def group_of(scale: int, rating: int) -> str:
    return _GROUP_OF_BAND[band_of(scale, rating)]


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
    def scales(self) -> list[int]:
        """The scales of its answers (a site whose scale changed, or a scope of several, has more than one)."""
        return sorted({scale for (scale, _), n in self.counts.items() if scale and n})

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
    unit: Span = Span.DAY  # of the chart's bars: days, ISO weeks or months (`bucket_unit`)
    buckets: dict[date, Tally] = field(default_factory=dict)  # by the bucket's first day
    buckets_raw_total: dict[date, int] = field(default_factory=dict)
    heat: dict[tuple[int, int], Tally] = field(default_factory=dict)  # (weekday, local hour)
    by_site: dict[str, Tally] = field(default_factory=dict)
    by_channel: dict[str, Tally] = field(default_factory=dict)
    # raw, filtered; only when asked for (exports): a year of 200 sites is 73,000 of them
    site_days: dict[tuple[str, date], tuple[Tally, Tally]] = field(default_factory=dict)

    @property
    def main(self) -> Tally:
        return self.filtered if self.counts == "filtered" else self.raw

    @property
    def flagged(self) -> int:
        return self.raw.total - self.filtered.total

    def enough(self, tally: Tally | int | None) -> bool:
        """The publication rule's minimum count (collector/publication.py)."""
        return enough(tally.total if isinstance(tally, Tally) else tally, self.min_cell)

    def all_days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def all_buckets(self) -> list[date]:
        """First days of the chart's bars over the period (the first may start before it)."""
        return starts(self.unit, self.start, self.end)

    def chosen(self, n_raw: int, n_filtered: int) -> int:
        return n_filtered if self.counts == "filtered" else n_raw


def build_report(db: Database, sites: list[Site], start: date, end: date, *, hours: str = "all",
                 counts: str = "filtered", min_cell: int = DEFAULT_MIN_CELL, site_days: bool = False,
                 hourly: bool = False, question: str | None = None) -> Report:
    """Every breakdown of the dashboard, summed by SQLite per time zone (`report_cells`).

    `site_days` adds the per-site, per-day cells (the exports' days table).
    `hourly` reads the hourly rollups only: the reference the fast path is tested against.
    `question` keeps the answers to that question only (the hourly rollups: see `cells_for`).
    """
    if hours not in HOURS:
        raise ValueError(f"hours must be one of {', '.join(HOURS)}")
    if counts not in ("filtered", "raw"):
        raise ValueError("counts must be filtered or raw")
    report = Report(sites, start, end, hours, counts, min_cell, unit=bucket_unit(start, end))
    for site in sites:
        report.by_site[site.id] = Tally()
    scales: set[int] = set()
    open_only = hours == "open"
    for zone_sites in _by_zone(sites).values():
        cells = cells_for(db, zone_sites, start, end, hourly=hourly, question=question)
        # A cell with no press is skipped everywhere, as if it had no rollup row.
        for site_id, channel, scale, rating, in_hours, n_raw, n_filtered in cells.sites():
            if not n_raw:
                continue
            scales.add(scale)
            if not in_hours:
                report.outside_hours += n_raw
                if open_only:
                    continue
            n = report.chosen(n_raw, n_filtered)
            report.raw.add(scale, rating, n_raw)
            report.filtered.add(scale, rating, n_filtered)
            report.by_site[site_id].add(scale, rating, n)
            report.by_channel.setdefault(channel, Tally()).add(scale, rating, n)
        for bucket, scale, rating, in_hours, n_raw, n_filtered in cells.buckets(report.unit):
            if n_raw and (in_hours or not open_only):
                report.buckets.setdefault(bucket, Tally()).add(scale, rating, report.chosen(n_raw, n_filtered))
                report.buckets_raw_total[bucket] = report.buckets_raw_total.get(bucket, 0) + n_raw
        for weekday, local_hour, scale, rating, n_raw, n_filtered in cells.heat(open_only):
            if n_raw:
                report.heat.setdefault((weekday, local_hour), Tally()).add(
                    scale, rating, report.chosen(n_raw, n_filtered))
        if site_days:
            for site_id, day, scale, rating, in_hours, n_raw, n_filtered in cells.site_days():
                if n_raw and (in_hours or not open_only):
                    raw_day, filtered_day = report.site_days.setdefault((site_id, day), (Tally(), Tally()))
                    raw_day.add(scale, rating, n_raw)
                    filtered_day.add(scale, rating, n_filtered)
    if not scales:
        scales = {s.scale for s in sites}
    report.scale = scales.pop() if len(scales) == 1 else None
    return report


def _by_zone(sites: list[Site]) -> dict[str, list[Site]]:
    """Sites grouped by time zone: local days are cut per zone."""
    zones: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        zones[site.tz].append(site)
    return zones


def previous_satisfaction(db: Database, sites: list[Site], start: date, end: date, *,
                          hours: str = "all", counts: str = "filtered", hourly: bool = False) -> dict[str, Tally]:
    """Each site's tally over the period of the same length just before `start` (for trends)."""
    length = (end - start).days + 1
    before_end = start - timedelta(days=1)
    before_start = before_end - timedelta(days=length - 1)
    out = {site.id: Tally() for site in sites}
    for zone_sites in _by_zone(sites).values():
        for site_id, _, scale, rating, in_hours, n_raw, n_filtered in cells_for(
                db, zone_sites, before_start, before_end, hourly=hourly).sites():
            if n_raw and (in_hours or hours != "open"):
                out[site_id].add(scale, rating, n_filtered if counts == "filtered" else n_raw)
    return out


def followup_answers(db: Database, sites: list[Site], start: date, end: date, *, hours: str = "all",
                     counts: str = "filtered", hourly: bool = False, question: str | None = None
                     ) -> dict[tuple[str, str], int]:
    """(follow-up question, choice) -> answers, from the follow-up rollups (kept after retention)."""
    out: dict[tuple[str, str], int] = defaultdict(int)
    for zone_sites in _by_zone(sites).values():
        for asked, choice, in_hours, n_raw, n_filtered in cells_for(
                db, zone_sites, start, end, hourly=hourly, question=question).followups():
            if in_hours or hours != "open":
                out[(asked, choice)] += n_filtered if counts == "filtered" else n_raw
    return {key: n for key, n in out.items() if n}


# -- the wall display's trend ---------------------------------------------------


def trend_reference(db: Database, site: Site, now: datetime) -> dict[str, Any]:
    """Satisfaction on the same weekday of the previous weeks, up to the same local hour.

    Each previous day counts from local midnight to the end of the current
    local hour, so a morning is compared with mornings (otherwise a morning
    always looks bad or good). The reference is the mean of the days that had
    answers on a scale whose satisfied share compares with the site's current
    one; raw counts, like the wall's own figure.
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
    # A day answered on 4 faces is no reference for a site now on 5 (docs/figures.md): left out.
    rates = [t.satisfaction for t in tallies.values()
             if t.satisfaction is not None and shares_comparable(t.scales, [site.scale])]
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
