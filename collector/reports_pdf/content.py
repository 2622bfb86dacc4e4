"""What a printed report says for one site or organisation and period: a manager reads it in two minutes.

Figures come from collector/reports.py (the dashboard's), under the same
minimum-count rule (collector/publication.py): a cell under the minimum is
withheld and the text says so, never a misleading number. Call inside
`render.rendering(lang)`: the labels follow the report's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlite_utils import Database

from collector.alerts.store import alerts_in_period
from collector.bands import trend_comparable
from collector.breakdown_rows import channels, followups, ranking
from collector.fleet import fleet
from collector.publication import DEFAULT_MIN_CELL
from collector.registry import Site, get_site, list_sites
from collector.report_cells import cells_for
from collector.reports import Report, Tally, build_report
from collector.reports_pdf.period import Period, ReportError, period_of
from collector.uptime import availability
from collector.web.charts import Bucket, Series, buckets, satisfaction_line, stacked_bars
from collector.web.i18n import t
from ressenti.protocol import is_slug, utc_now


@dataclass(frozen=True)
class Scope:
    kind: str  # "site" or "org"
    id: str
    name: str
    sites: list[Site]

    @property
    def value(self) -> str:
        return f"{self.kind}:{self.id}"


def resolve_scope(db: Database, *, site: str | None = None, org: str | None = None) -> Scope:
    """A site or an organisation by id; a ReportError names what is unknown."""
    if (site is None) == (org is None):
        raise ReportError("a report is about one site or one organisation: give --site or --org")
    ident = site if site is not None else org
    if not isinstance(ident, str) or not is_slug(ident):
        raise ReportError(f"{'site' if site is not None else 'organisation'} id {ident!r} is not a valid id")
    if site is not None:
        found = get_site(db, site)
        if found is None:
            raise ReportError(f"site {site!r} is unknown")
        return Scope("site", found.id, found.name, [found])
    sites = list_sites(db, org)
    if not sites:
        raise ReportError(f"organisation {org!r} is unknown or has no site")
    row = db.execute("SELECT name FROM orgs WHERE id = ?", [org]).fetchone()
    return Scope("org", ident, row[0] if row and row[0] else ident, sites)


def today_of(scope: Scope, now: datetime) -> date:
    """Today where the scope is (its first site's zone, as the dashboard does)."""
    return now.astimezone(scope.sites[0].zone).date()


@dataclass
class HourRow:
    hour: int
    tally: Tally | None  # None: too few answers in that hour of the day to show it


@dataclass
class KioskRow:
    kiosk: str
    site: str
    name: str | None
    online: bool
    last_seen: str | None
    share: float | None = None  # online share of the period's opening hours (collector/uptime.py)
    since: datetime | None = None  # the online history starts after the period's start


@dataclass
class AlertRow:
    kind: str
    site: str
    opened_at: str
    resolved_at: str | None
    summary: str
    comments: list[tuple[str, str]] = field(default_factory=list)  # (at, text); no author: no ranking of agents


@dataclass
class Content:
    scope: Scope
    period: Period
    previous: Period
    min_cell: int
    report: Report
    before: Tally
    items: list[Bucket]
    legend: list[tuple[str, str, str]]  # the bars' series, bottom first: key, label, colour
    bars: Any
    line: Any
    hours: list[HourRow]
    reasons: list[Any]  # the dashboard's rows: label, tally (None when withheld), share, extra
    channels: list[Any]
    sites: list[Any]
    kiosks: list[KioskRow]
    alerts: list[AlertRow]

    @property
    def enough(self) -> bool:
        return self.report.enough(self.report.main)

    @property
    def before_enough(self) -> bool:
        return self.report.enough(self.before)

    @property
    def satisfaction_delta(self) -> float | None:
        """Change of the satisfied share, only where both periods compare (docs/figures.md)."""
        main, before = self.report.main, self.before
        if not (self.enough and self.before_enough) or not trend_comparable(main.scales, before.scales):
            return None
        return (main.satisfaction or 0) - (before.satisfaction or 0)

    @property
    def net_delta(self) -> float | None:
        """Net satisfaction compares across every scale."""
        if not (self.enough and self.before_enough):
            return None
        return (self.report.main.net or 0) - (self.before.net or 0)


def _site_tallies(db: Database, sites: list[Site], period: Period, counts: str) -> dict[str, Tally]:
    """Each site's tally over a period (the previous one: `previous_satisfaction` takes the same length)."""
    out = {s.id: Tally() for s in sites}
    by_zone: dict[str, list[Site]] = {}
    for s in sites:
        by_zone.setdefault(s.tz, []).append(s)
    for zone_sites in by_zone.values():
        for site_id, _, scale, rating, _, n_raw, n_filtered in cells_for(
                db, zone_sites, period.start, period.end).sites():
            if n_raw:
                out[site_id].add(scale, rating, n_filtered if counts == "filtered" else n_raw)
    return out


def _hours(report: Report) -> list[HourRow]:
    """Answers per local hour of the day, the weekdays added up; hours with no answer left out."""
    per_hour: dict[int, Tally] = {}
    for (_, hour), tally in report.heat.items():
        per_hour.setdefault(hour, Tally()).merge(tally)
    return [HourRow(hour, tally if report.enough(tally) else None)
            for hour, tally in sorted(per_hour.items()) if tally.total]


def _kiosks(db: Database, sites: list[Site], period: Period) -> list[KioskRow]:
    by_id = {s.id: s for s in sites}
    rows = []
    for k in fleet(db, with_gaps=False):
        if k["site"] not in by_id or k["retired"]:
            continue
        known = availability(db, by_id[k["site"]], k["kiosk"], period.start, period.end, utc_now())
        rows.append(KioskRow(k["kiosk"], k["site"], k["name"], k["online"], k["last_seen"], known.share,
                             known.since))
    return rows


def _alerts(db: Database, sites: list[Site], period: Period, lang: str) -> list[AlertRow]:
    """Alerts open during the period, with their comments (collector/alerts, docs/alerts.md)."""
    return [AlertRow(a["kind"], a["site"], a["opened_at"], a["resolved_at"],
                     (a["summary_en"] if lang == "en" and a["summary_en"] else a["summary_fr"]) or "",
                     [(c["at"], c["text"]) for c in a["comments"]])
            for a in alerts_in_period(db, [s.id for s in sites], period.start, period.end)]


# Without its comment lines: WeasyPrint's SVG style parser reads a comment as a broken rule.
CHART_CSS = " ".join(line for line in (Path(__file__).resolve().parent.parent / "templates" / "reports" / "chart.css")
                     .read_text().splitlines() if not line.startswith("/*"))


def for_print(chart: Markup) -> Markup:
    """A dashboard chart with its print styles inside: WeasyPrint applies no page CSS within an SVG."""
    head, sep, rest = str(chart).partition(">")
    return Markup(f"{head}{sep}<style>{CHART_CSS}</style>{rest}")


def build_content(db: Database, scope: Scope, period: Period, *, lang: str = "fr",
                  min_cell: int = DEFAULT_MIN_CELL, counts: str = "filtered") -> Content:
    report = build_report(db, scope.sites, period.start, period.end, counts=counts, min_cell=min_cell,
                          site_days=True)  # the attached CSV's days table
    previous = period.previous()
    before_by_site = _site_tallies(db, scope.sites, previous, counts)
    before = Tally()
    for tally in before_by_site.values():
        before.merge(tally)
    unit, items = buckets(report)
    unit_name = {"day": t("jour", "day"), "week": t("semaine", "week"), "month": t("mois", "month")}[unit]
    series = Series.of(report)
    return Content(
        scope=scope, period=period, previous=previous, min_cell=min_cell, report=report, before=before,
        items=items, legend=series.keys,
        bars=for_print(stacked_bars(report, items, series,
                                    t(f"Réponses par {unit_name}", f"Answers per {unit_name}"))),
        line=for_print(satisfaction_line(report, items,
                                         t(f"Satisfaction par {unit_name}", f"Satisfaction per {unit_name}"))),
        hours=_hours(report), reasons=followups(db, report, lang), channels=channels(report, lang),
        sites=ranking(report, before_by_site) if scope.kind == "org" else [],
        kiosks=_kiosks(db, scope.sites, period), alerts=_alerts(db, scope.sites, period, lang))


def content_for(db: Database, scope: Scope, kind: str, day: date, now: datetime, **kwargs: Any) -> Content:
    """The content of the period of `kind` holding `day` (a ReportError for a future one)."""
    return build_content(db, scope, period_of(kind, day, today_of(scope, now)), **kwargs)
