"""Public results (issue 13): which sites publish, and their figures per month under the public minimum.

The public page, the open data and (later) the poster and reports read their
figures here, so one rule applies everywhere public: filtered counts (flagged
presses left out), whole local months, every figure withheld under
`PUBLIC_MIN_COUNT` answers (collector/publication.py), sites compared by
net satisfaction (collector/bands.py, docs/figures.md). docs/public.md.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlite_utils import Database

from collector.bands import Band, band_counts, band_figures, shares_comparable
from collector.local_rollups import RATINGS, read_local, whole_hour_offsets
from collector.periods import DAY_STEP, Span, bucket_pieces, span_end
from collector.publication import enough
from collector.registry import Site, get_site, list_sites
from collector.report_cells import HourlyCells

Cells = dict[tuple[int, int], int]  # (scale, rating) -> answers


# -- who publishes --------------------------------------------------------------------------------


def org_row(db: Database, org_id: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT id, name, published FROM orgs WHERE id = ?", [org_id]))
    return rows[0] if rows else None


def published_site_ids(db: Database) -> set[str]:
    """Sites that publish: their own flag and their organisation's are both on (the default)."""
    return {row[0] for row in db.conn.execute(
        "SELECT s.id FROM sites s JOIN orgs o ON o.id = s.org WHERE s.published = 1 AND o.published = 1")}


def is_published(db: Database, site: Site) -> bool:
    return site.id in published_site_ids(db)


def public_sites(db: Database, org: str | None = None) -> list[Site]:
    ids = published_site_ids(db)
    return [s for s in list_sites(db, org) if s.id in ids]


def public_site(db: Database, site_id: str) -> Site | None:
    """The site if it exists and publishes; None for an unknown or opted-out site alike."""
    site = get_site(db, site_id)
    return site if site is not None and is_published(db, site) else None


def set_published(db: Database, kind: str, ident: str, published: bool) -> bool:
    """Opt a site or an organisation in or out of publication; False if there is no such one."""
    table = {"site": "sites", "org": "orgs"}[kind]
    return db.conn.execute(f"UPDATE {table} SET published = ? WHERE id = ?", (int(published), ident)).rowcount > 0


def site_flags(db: Database) -> dict[str, bool]:
    return {row[0]: bool(row[1]) for row in db.conn.execute("SELECT id, published FROM sites")}


def org_flags(db: Database) -> dict[str, tuple[str, bool]]:
    return {row[0]: (row[1], bool(row[2])) for row in db.conn.execute("SELECT id, name, published FROM orgs")}


# -- figures --------------------------------------------------------------------------------------


@dataclass
class PublicFigure:
    """One scope's figures over one period, or the reason they are withheld."""

    first: date
    last: date
    min_count: int
    cells: Cells = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    @property
    def published(self) -> bool:
        return enough(self.total, self.min_count)

    @property
    def scales(self) -> list[int]:
        return sorted({s for (s, _), n in self.cells.items() if n})

    def figures(self) -> dict[str, Any]:
        """Total, bands, satisfaction, net satisfaction; all None when withheld."""
        if not self.published:
            return {"total": None, "bands": None, "satisfaction": None, "net_satisfaction": None}
        return band_figures(band_counts((s, r, n) for (s, r), n in self.cells.items()))

    def add(self, cells: Cells) -> None:
        for key, n in cells.items():
            self.cells[key] = self.cells.get(key, 0) + n


def month_start(month: str) -> date:
    """'2026-11' -> 2026-11-01; ValueError with the reason otherwise."""
    try:
        parsed = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ValueError(f"{month!r} is not a month (YYYY-MM)") from None
    return parsed


def previous_month(start: date) -> date:
    return (start - DAY_STEP).replace(day=1)


def last_full_month(today: date) -> date:
    return previous_month(today.replace(day=1))


def months_back(start: date, count: int) -> date:
    """The first day of the month `count - 1` months before `start`'s month."""
    for _ in range(count - 1):
        start = previous_month(start)
    return start


def monthly_cells(db: Database, sites: list[Site], first: date, last: date) -> dict[tuple[str, date], Cells]:
    """Filtered answers per (site, local month) over the whole months of `first` to `last` (first days),
    from the rollups per span."""
    last = span_end(Span.MONTH, last)
    out: dict[tuple[str, date], Cells] = defaultdict(dict)
    zones: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        zones[site.tz].append(site)
    for tz, group in zones.items():
        if whole_hour_offsets(tz, first, last):
            pieces = [(bucket.isoformat(), piece) for bucket, piece in bucket_pieces(first, last, Span.MONTH)]
            rows = read_local(db, RATINGS, [s.id for s in group], pieces, ("site", "scale", "rating"))
            for label, site_id, scale, rating, n_raw, n_filtered in rows:
                if n_raw and n_filtered:
                    cell = out[(site_id, date.fromisoformat(label))]
                    cell[(scale, rating)] = cell.get((scale, rating), 0) + n_filtered
            continue
        for site in group:  # a zone with half-hour offsets: the hourly rollups, site by site
            for bucket, scale, rating, _in_hours, n_raw, n_filtered in HourlyCells(db, [site], first, last
                                                                                  ).buckets(Span.MONTH):
                if n_raw and n_filtered:
                    cell = out[(site.id, bucket)]
                    cell[(scale, rating)] = cell.get((scale, rating), 0) + n_filtered
    return out


def scope_figure(monthly: dict[tuple[str, date], Cells], sites: list[Site], first: date, last: date,
                 min_count: int) -> PublicFigure:
    figure = PublicFigure(first, span_end(Span.MONTH, last), min_count)
    ids = {s.id for s in sites}
    for (site_id, month), cells in monthly.items():
        if site_id in ids and first <= month <= last:
            figure.add(cells)
    return figure


@dataclass
class PublicResults:
    """What the public page shows for a site or an organisation: 12 months, the last month, the trend."""

    month: date  # the last month shown (first day)
    year: PublicFigure  # the 12 months ending with `month`
    last: PublicFigure
    before: PublicFigure  # the month before, for the trend
    months: list[tuple[date, PublicFigure]]

    @property
    def trend(self) -> float | None:
        """Change of net satisfaction (the measure that compares across scales), in rate points."""
        if not (self.last.published and self.before.published):
            return None
        return (self.last.figures()["net_satisfaction"] or 0) - (self.before.figures()["net_satisfaction"] or 0)

    @property
    def satisfaction_trend(self) -> float | None:
        """Change of the satisfied share, only when both months' scales make it comparable."""
        if self.trend is None or not shares_comparable(self.last.scales, self.before.scales):
            return None
        return (self.last.figures()["satisfaction"] or 0) - (self.before.figures()["satisfaction"] or 0)


def public_results(db: Database, sites: list[Site], month: date, min_count: int, months: int = 12) -> PublicResults:
    first = months_back(month, months)
    before = previous_month(month)
    monthly = monthly_cells(db, sites, min(first, before), month)
    series = []
    start = first
    while start <= month:
        series.append((start, scope_figure(monthly, sites, start, start, min_count)))
        start = span_end(Span.MONTH, start) + DAY_STEP
    return PublicResults(month, scope_figure(monthly, sites, first, month, min_count),
                         scope_figure(monthly, sites, month, month, min_count),
                         scope_figure(monthly, sites, before, before, min_count), series)


# -- open data ------------------------------------------------------------------------------------

COLUMNS = ("site_id", "site_name", "org_id", "org_name", "month", "enough_answers", "answers", "satisfied", "neutral",
           "dissatisfied", "satisfaction_rate", "net_satisfaction", "scales", "min_count")


def open_data_rows(db: Database, sites: list[Site], first: date, last: date, min_count: int
                   ) -> list[dict[str, Any]]:
    """One row per published site and month first..last (months with no answer included, withheld)."""
    orgs = org_flags(db)
    monthly = monthly_cells(db, sites, first, last)
    rows = []
    for site in sites:
        start = first
        while start <= last:
            figure = PublicFigure(start, span_end(Span.MONTH, start), min_count, monthly.get((site.id, start), {}))
            numbers = figure.figures()
            bands = numbers["bands"] or {}
            rows.append({
                "site_id": site.id, "site_name": site.name, "org_id": site.org,
                "org_name": orgs.get(site.org, (site.org, True))[0], "month": start.strftime("%Y-%m"),
                "enough_answers": figure.published, "answers": numbers["total"],
                "satisfied": bands.get(Band.SATISFIED.value), "neutral": bands.get(Band.NEUTRAL.value),
                "dissatisfied": bands.get(Band.DISSATISFIED.value),
                "satisfaction_rate": numbers["satisfaction"], "net_satisfaction": numbers["net_satisfaction"],
                "scales": " ".join(map(str, figure.scales)) if figure.published else None,
                "min_count": min_count,
            })
            start = span_end(Span.MONTH, start) + DAY_STEP
    return rows
