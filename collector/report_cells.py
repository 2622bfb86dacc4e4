"""Where a report's counts come from: the rollups per local span (fast), or the hourly ones.

Both sources answer the same questions for sites of one time zone over local
days first..last, with the same cells; `tests/test_report_sources.py` compares
them on random data across zones and daylight-saving changes. Every cell comes
with its raw count, so a caller can skip a cell that has no presses, as if its
rollup row were not there (a subtracted span can leave such zero cells).

    site cells:     site, channel, scale, rating, in_hours, n_raw, n_filtered
    bucket cells:   bucket (first day), scale, rating, in_hours, n_raw, n_filtered
    heat cells:     local weekday, local hour, scale, rating, n_raw, n_filtered
    site-day cells: site, local day, scale, rating, in_hours, n_raw, n_filtered
    follow-ups:     follow-up question, choice, in_hours, n_raw, n_filtered
    follow-up buckets: bucket (first day), follow-up question, choice, in_hours, n_raw, n_filtered
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from collector.local_rollups import FOLLOWUPS, HEAT, RATINGS, fill_temp, read_local, whole_hour_offsets
from collector.periods import DAY_STEP, Span, bucket_pieces, cover, span_end, span_start, starts
from collector.queries import day_range_utc
from collector.registry import Site
from ressenti.protocol import utc_now

Cells = Iterable[tuple[Any, ...]]
HOUR_COLUMNS = "hour TEXT PRIMARY KEY, day TEXT, weekday INTEGER, local_hour INTEGER, sign INTEGER"
HEAT_DAY_COST = 1 / 7  # a day holds up to 24 of the heat map's 168 cells
# From a fifth of the database's sites on, reading every site's rows of a span in cell order beats
# sorting the scope's (200 sites, a year by week: 60 ms against 200-400 ms; docs/benchmarks.md).
MANY_SITES_SHARE = 5


def cells_for(db: Database, sites: list[Site], first: date, last: date, *, hourly: bool = False,
              question: str | None = None) -> LocalCells | HourlyCells:
    """The local-span source when the zone's offsets are whole hours all through, else the hourly one.

    One `question` only: the hourly rollups (the local spans and the heat map do not keep the question).
    The dashboard offers that for one site, where a year is 8,760 hours.
    """
    if hourly or question is not None or not whole_hour_offsets(sites[0].tz, first, last):
        return HourlyCells(db, sites, first, last, question)
    return LocalCells(db, sites, first, last)


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN ({','.join('?' * len(values))})"


class HourlyCells:
    """Sums of the hourly rollups over the UTC hours of the period (the reference; any zone)."""

    def __init__(self, db: Database, sites: list[Site], first: date, last: date, question: str | None = None) -> None:
        self.db, self.ids, self.first, self.last = db, [s.id for s in sites], first, last
        self.tz = sites[0].tz
        self.lo, self.hi = day_range_utc(sites[0], first, last)
        self.question = question
        self._mapped = False

    def _where(self, alias: str = "r") -> tuple[str, list[str]]:
        where = f"{_in(f'{alias}.site', self.ids)} AND {alias}.hour >= ? AND {alias}.hour < ?"
        params = [*self.ids, self.lo, self.hi]
        if self.question is not None:
            where += f" AND {alias}.question = ?"
            params.append(self.question)
        return where, params

    def _map(self) -> None:
        """Every hour of [lo, hi): in a zone with half-hour offsets that is not exactly the local days."""
        if self._mapped:
            return
        self._mapped = True
        zone = ZoneInfo(self.tz)
        moment = datetime.strptime(self.lo, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        end = datetime.strptime(self.hi, "%Y-%m-%dT%H").replace(tzinfo=UTC)
        rows = []
        while moment < end:
            local = moment.astimezone(zone)
            rows.append((moment.isoformat()[:13], local.date().isoformat(), local.weekday(), local.hour, 1))
            moment += timedelta(hours=1)
        fill_temp(self.db, "period_hours", HOUR_COLUMNS, rows)

    def sites(self) -> Cells:
        where, params = self._where()
        return self.db.conn.execute(
            "SELECT r.site, r.channel, r.scale, r.rating, r.in_hours, SUM(r.n_raw), SUM(r.n_filtered)"
            f" FROM rollup_hourly r WHERE {where} GROUP BY 1, 2, 3, 4, 5", params)

    def buckets(self, unit: Span) -> Cells:
        self._map()
        where, params = self._where()
        for day, *rest in self.db.conn.execute(
            "SELECT m.day, r.scale, r.rating, r.in_hours, SUM(r.n_raw), SUM(r.n_filtered)"
            f" FROM rollup_hourly r JOIN temp.period_hours m ON m.hour = r.hour WHERE {where}"
            " GROUP BY 1, 2, 3, 4", params).fetchall():
            yield (span_start(unit, date.fromisoformat(day)), *rest)

    def heat(self, open_only: bool) -> Cells:
        self._map()
        where, params = self._where()
        clause = " AND r.in_hours = 1" if open_only else ""
        return self.db.conn.execute(
            "SELECT m.weekday, m.local_hour, r.scale, r.rating, SUM(r.n_raw), SUM(r.n_filtered)"
            f" FROM rollup_hourly r JOIN temp.period_hours m ON m.hour = r.hour WHERE {where}{clause}"
            " GROUP BY 1, 2, 3, 4", params).fetchall()

    def site_days(self) -> Cells:
        self._map()
        where, params = self._where()
        for site, day, *rest in self.db.conn.execute(
            "SELECT r.site, m.day, r.scale, r.rating, r.in_hours, SUM(r.n_raw), SUM(r.n_filtered)"
            f" FROM rollup_hourly r JOIN temp.period_hours m ON m.hour = r.hour WHERE {where}"
            " GROUP BY 1, 2, 3, 4, 5", params).fetchall():
            yield (site, date.fromisoformat(day), *rest)

    def followups(self) -> Cells:
        where, params = self._where()
        return self.db.conn.execute(
            "SELECT r.followup_question, r.choice, r.in_hours, SUM(r.n_raw), SUM(r.n_filtered)"
            f" FROM rollup_followup r WHERE {where} GROUP BY 1, 2, 3", params)

    def followup_buckets(self, unit: Span) -> Cells:
        self._map()
        where, params = self._where()
        for day, *rest in self.db.conn.execute(
            "SELECT m.day, r.followup_question, r.choice, r.in_hours, SUM(r.n_raw), SUM(r.n_filtered)"
            f" FROM rollup_followup r JOIN temp.period_hours m ON m.hour = r.hour WHERE {where}"
            " GROUP BY 1, 2, 3, 4", params).fetchall():
            yield (span_start(unit, date.fromisoformat(day)), *rest)


class LocalCells:
    """Sums of the rollups per local span: whole years and months, and days (or hours) at the edges."""

    def __init__(self, db: Database, sites: list[Site], first: date, last: date) -> None:
        self.db, self.ids, self.first, self.last = db, [s.id for s in sites], first, last
        self.tz = sites[0].tz
        # Days after this hold nothing yet (ingest accepts stamps up to a day ahead), so a
        # span that runs into them is as cheap to read whole as its days in the period.
        self.empty_after = utc_now().date() + 2 * DAY_STEP
        sites_in_database = db.conn.execute("SELECT COUNT(*) FROM sites").fetchone()[0]
        self.many_sites = len(self.ids) * MANY_SITES_SHARE >= sites_in_database

    def _cover(self, day_cost: float = 1.0) -> list[tuple[int, Span, date]]:
        return cover(self.first, self.last, (Span.YEAR, Span.MONTH), day_cost=day_cost,
                     empty_after=self.empty_after)

    def sites(self) -> Cells:
        pieces = [("", piece) for piece in self._cover()]
        return (row[1:] for row in read_local(self.db, RATINGS, self.ids, pieces,
                                              ("site", "channel", "scale", "rating", "in_hours")))

    def buckets(self, unit: Span) -> Cells:
        pieces = [(bucket.isoformat(), piece)
                  for bucket, piece in bucket_pieces(self.first, self.last, unit, empty_after=self.empty_after)]
        for bucket, *rest in read_local(self.db, RATINGS, self.ids, pieces, ("scale", "rating", "in_hours"),
                                        many_sites=self.many_sites):
            yield (date.fromisoformat(bucket), *rest)

    def heat(self, open_only: bool) -> Cells:
        pieces = [("", piece) for piece in self._cover(HEAT_DAY_COST)]
        clause = " AND l.in_hours = 1" if open_only else ""
        return (row[1:] for row in read_local(self.db, HEAT, self.ids, pieces,
                                              ("weekday", "local_hour", "scale", "rating"), clause,
                                              many_sites=self.many_sites))

    def site_days(self) -> Cells:
        days = [(day.isoformat(), (1, Span.DAY, day))
                for day in (self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1))]
        for day, *rest in read_local(self.db, RATINGS, self.ids, days, ("site", "scale", "rating", "in_hours")):
            site, *counts = rest
            yield (site, date.fromisoformat(day), *counts)

    def followups(self) -> Cells:
        pieces = [("", piece) for piece in self._cover()]
        return (row[1:] for row in read_local(self.db, FOLLOWUPS, self.ids, pieces,
                                              ("followup_question", "choice", "in_hours")))

    def followup_buckets(self, unit: Span) -> Cells:
        # Follow-ups are kept per day, month and year (no weeks): a week is read from its days.
        spans = (Span.MONTH,) if unit is Span.MONTH else ()
        pieces = []
        for bucket in starts(unit, self.first, self.last):
            lo, hi = max(self.first, bucket), min(self.last, span_end(unit, bucket))
            pieces += [(bucket.isoformat(), piece)
                       for piece in cover(lo, hi, spans, empty_after=self.empty_after)]
        for bucket, *rest in read_local(self.db, FOLLOWUPS, self.ids, pieces,
                                        ("followup_question", "choice", "in_hours")):
            yield (date.fromisoformat(bucket), *rest)
