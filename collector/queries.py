"""Read side: every figure comes from the hourly rollups, never from raw events."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlite_utils import Database

from collector.registry import Site
from collector.store import hour_bucket


def day_range_utc(site: Site, start: date, end: date) -> tuple[str, str]:
    """Hour buckets [first, last) covering local days start..end inclusive in the site's zone.

    Rollups are by UTC hour, so a zone with a whole-hour offset (all of
    metropolitan and overseas France) cuts days exactly.
    """
    zone = site.zone
    lo = datetime.combine(start, time.min, zone).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(UTC)
    return hour_bucket(lo), hour_bucket(hi)


def today(site: Site) -> date:
    return datetime.now(site.zone).date()


def shares(counts: dict[int, int], scale: int) -> dict[str, Any]:
    """Satisfaction = share strictly above the middle of the scale; net = top share - bottom share."""
    total = sum(counts.values())
    middle = (scale + 1) / 2
    top = sum(n for r, n in counts.items() if r > middle)
    bottom = sum(n for r, n in counts.items() if r < middle)
    return {
        "total": total,
        "satisfaction": round(top / total, 4) if total else None,
        "net_satisfaction": round((top - bottom) / total, 4) if total else None,
    }


HOURS = ("all", "open")  # every press, or only those inside the site's opening hours


def _hours_clause(hours: str) -> str:
    if hours not in HOURS:
        raise ValueError(f"hours must be one of {', '.join(HOURS)}")
    return " AND in_hours = 1" if hours == "open" else ""


def site_summary(db: Database, site: Site, start: date | None = None, end: date | None = None,
                 *, hours: str = "all") -> dict[str, Any]:
    _hours_clause(hours)
    start = start or today(site)
    end = end or start
    lo, hi = day_range_utc(site, start, end)
    raw = {r: 0 for r in range(1, site.scale + 1)}
    filtered = dict(raw)
    other_scales: dict[int, int] = {}
    outside = 0
    for row in db.query(
        "SELECT scale, rating, in_hours, SUM(n_raw) AS n_raw, SUM(n_filtered) AS n_filtered"
        " FROM rollup_hourly WHERE site = ? AND hour >= ? AND hour < ?"
        " GROUP BY scale, rating, in_hours",
        [site.id, lo, hi],
    ):
        if not row["in_hours"]:
            outside += row["n_raw"]
            if hours == "open":
                continue
        if row["scale"] != site.scale:
            other_scales[row["scale"]] = other_scales.get(row["scale"], 0) + row["n_raw"]
            continue
        raw[row["rating"]] += row["n_raw"]
        filtered[row["rating"]] += row["n_filtered"]
    return {
        "site": site.id,
        "name": site.name,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "tz": site.tz,
        "scale": site.scale,
        "hours": hours,
        "counts": {str(r): n for r, n in raw.items()},
        **shares(raw, site.scale),
        "filtered": {"counts": {str(r): n for r, n in filtered.items()}, **shares(filtered, site.scale)},
        "flagged": sum(raw.values()) - sum(filtered.values()),
        "outside_hours": outside,
        "other_scales": {str(s): n for s, n in other_scales.items()},
    }


def site_series(db: Database, site: Site, start: date, end: date, *, hours: str = "all",
                filtered: bool = False) -> list[dict[str, Any]]:
    """Counts per UTC hour bucket (rating -> presses), for charts; local time given too."""
    lo, hi = day_range_utc(site, start, end)
    column = "n_filtered" if filtered else "n_raw"
    series: dict[str, dict[str, int]] = {}
    for row in db.query(
        f"SELECT hour, rating, SUM({column}) AS n FROM rollup_hourly"
        f" WHERE site = ? AND scale = ? AND hour >= ? AND hour < ?{_hours_clause(hours)}"
        " GROUP BY hour, rating ORDER BY hour",
        [site.id, site.scale, lo, hi],
    ):
        series.setdefault(row["hour"], {str(r): 0 for r in range(1, site.scale + 1)})[str(row["rating"])] = row["n"]
    zone = site.zone
    return [
        {"hour_utc": hour, "local": datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC)
            .astimezone(zone).isoformat(timespec="minutes"), "counts": counts}
        for hour, counts in series.items()
    ]
