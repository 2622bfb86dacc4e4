"""Read side: a site's summary from the hourly rollups (never raw events), on every scale it was answered on."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlite_utils import Database

from collector.bands import band_counts, band_figures
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


def faces(cells: dict[tuple[int, int], int], scale: int) -> dict[str, int]:
    """Answers per face of one scale, every face present."""
    return {str(r): cells.get((scale, r), 0) for r in range(1, scale + 1)}


def tally_figures(cells: dict[tuple[int, int], int], scale: int | None) -> dict[str, Any]:
    """Faces of `scale` (None: the cells mix scales, no faces), then the figures of every band."""
    return {"counts": faces(cells, scale) if scale else None,
            **band_figures(band_counts((s, r, n) for (s, r), n in cells.items()))}


def answer_scales(cells: dict[tuple[int, int], int]) -> list[int]:
    return sorted({s for (s, _), n in cells.items() if n})


HOURS = ("all", "open")  # every press, or only those inside the site's opening hours


def hours_clause(hours: str) -> str:
    if hours not in HOURS:
        raise ValueError(f"hours must be one of {', '.join(HOURS)}")
    return " AND in_hours = 1" if hours == "open" else ""


def channel_counts(db: Database, site: Site, start: date | None = None, end: date | None = None) -> dict[str, int]:
    """Answers (raw) per channel of a site over local days start..end: kiosk buttons, touch, web, phone..."""
    start = start or today(site)
    lo, hi = day_range_utc(site, start, end or start)
    return {channel: n for channel, n in db.conn.execute(
        "SELECT channel, SUM(n_raw) FROM rollup_hourly WHERE site = ? AND hour >= ? AND hour < ?"
        " GROUP BY channel ORDER BY channel", [site.id, lo, hi]) if n}


def site_summary(db: Database, site: Site, start: date | None = None, end: date | None = None,
                 *, hours: str = "all") -> dict[str, Any]:
    """A site's figures over local days start..end, on whatever scale each answer was given.

    A period that spans a change of scale (4 faces, then 5) keeps every
    answer: `total`, `bands` and the rates add the bands of both scales,
    `by_scale` gives each scale's faces, and `counts` the faces of `scale`
    (the period's only scale, else the site's current one). Unmasked: the
    public API applies the publication rules (collector/publication.py).
    """
    hours_clause(hours)
    start = start or today(site)
    end = end or start
    lo, hi = day_range_utc(site, start, end)
    raw: dict[tuple[int, int], int] = defaultdict(int)
    filtered: dict[tuple[int, int], int] = defaultdict(int)
    outside = 0
    for scale, rating, in_hours, n_raw, n_filtered in db.conn.execute(
        "SELECT scale, rating, in_hours, SUM(n_raw), SUM(n_filtered)"
        " FROM rollup_hourly WHERE site = ? AND hour >= ? AND hour < ?"
        " GROUP BY scale, rating, in_hours",
        [site.id, lo, hi],
    ):
        if not in_hours:
            outside += n_raw
            if hours == "open":
                continue
        raw[(scale, rating)] += n_raw
        filtered[(scale, rating)] += n_filtered
    scales = answer_scales(raw)
    scale = scales[0] if len(scales) == 1 else site.scale
    main = tally_figures(raw, scale)
    return {
        "site": site.id,
        "name": site.name,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "tz": site.tz,
        "scale": scale,
        "site_scale": site.scale,
        "scales": scales,
        "hours": hours,
        **main,
        "by_scale": {str(s): {"counts": faces(raw, s), "total": sum(faces(raw, s).values())} for s in scales},
        "filtered": tally_figures(filtered, scale),
        "flagged": main["total"] - sum(filtered.values()),
        "outside_hours": outside,
    }
