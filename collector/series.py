"""A site's counts per local day or per UTC hour (the JSON API's series), under the publication rules.

Each point carries the bands of every scale it was answered on, and its
faces when it has one scale: a day on which the site went from 4 to 5 faces
is not a day of 5-face answers. Points under the minimum count are withheld
with their reason (collector/publication.py); a day is the finest unit in
public.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any

from sqlite_utils import Database

from collector.publication import UNITS, publish_point
from collector.queries import answer_scales, day_range_utc, hours_clause, tally_figures
from collector.registry import Site
from collector.report_cells import cells_for

Cells = dict[tuple[int, int], int]


def _figures(cells: Cells) -> dict[str, Any]:
    scales = answer_scales(cells)
    return {"scale": scales[0] if len(scales) == 1 else None, "scales": scales,
            **tally_figures(cells, scales[0] if len(scales) == 1 else None)}


def site_series(db: Database, site: Site, start: date, end: date, *, unit: str = "day", hours: str = "all",
                filtered: bool = False, min_cell: int) -> list[dict[str, Any]]:
    """Points with answers over local days start..end, oldest first; each withheld under `min_cell`."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")
    points = _days(db, site, start, end, hours, filtered) if unit == "day" else _hours(
        db, site, start, end, hours, filtered)
    return [publish_point(key, _figures(cells), min_cell) for key, cells in points]


def _days(db: Database, site: Site, start: date, end: date, hours: str, filtered: bool
          ) -> list[tuple[dict[str, Any], Cells]]:
    days: dict[date, Cells] = defaultdict(lambda: defaultdict(int))
    for _, day, scale, rating, in_hours, n_raw, n_filtered in cells_for(db, [site], start, end).site_days():
        if n_raw and (in_hours or hours != "open"):
            days[day][(scale, rating)] += n_filtered if filtered else n_raw
    return [({"date": day.isoformat()}, cells) for day, cells in sorted(days.items())]


def _hours(db: Database, site: Site, start: date, end: date, hours: str, filtered: bool
           ) -> list[tuple[dict[str, Any], Cells]]:
    lo, hi = day_range_utc(site, start, end)
    column = "n_filtered" if filtered else "n_raw"
    buckets: dict[str, Cells] = defaultdict(lambda: defaultdict(int))
    for hour, scale, rating, n in db.conn.execute(
        f"SELECT hour, scale, rating, SUM({column}) FROM rollup_hourly"
        f" WHERE site = ? AND hour >= ? AND hour < ?{hours_clause(hours)}"
        " GROUP BY hour, scale, rating ORDER BY hour", [site.id, lo, hi]):
        if n:
            buckets[hour][(scale, rating)] += n
    zone = site.zone
    return [({"hour_utc": hour, "local": datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)
              .astimezone(zone).isoformat(timespec="minutes")}, cells) for hour, cells in buckets.items()]
