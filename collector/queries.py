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


def site_summary(db: Database, site: Site, start: date | None = None, end: date | None = None) -> dict[str, Any]:
    start = start or today(site)
    end = end or start
    lo, hi = day_range_utc(site, start, end)
    raw = {r: 0 for r in range(1, site.scale + 1)}
    filtered = dict(raw)
    other_scales: dict[int, int] = {}
    for row in db.query(
        "SELECT scale, rating, SUM(n_raw) AS n_raw, SUM(n_filtered) AS n_filtered FROM rollup_hourly"
        " WHERE site = ? AND hour >= ? AND hour < ? GROUP BY scale, rating",
        [site.id, lo, hi],
    ):
        if row["scale"] != site.scale:
            other_scales[row["scale"]] = other_scales.get(row["scale"], 0) + row["n_raw"]
            continue
        raw[row["rating"]] = row["n_raw"]
        filtered[row["rating"]] = row["n_filtered"]
    return {
        "site": site.id,
        "name": site.name,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "tz": site.tz,
        "scale": site.scale,
        "counts": {str(r): n for r, n in raw.items()},
        **shares(raw, site.scale),
        "filtered": {"counts": {str(r): n for r, n in filtered.items()}, **shares(filtered, site.scale)},
        "flagged": sum(raw.values()) - sum(filtered.values()),
        "other_scales": {str(s): n for s, n in other_scales.items()},
    }
