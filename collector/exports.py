"""Export tables (CSV, XLSX) from a dashboard report: the same figures, under the same privacy rule.

Column names are stable and machine-readable (open data, Services Publics+
engagement 6); rates are decimals (0.8125), dates ISO. A row whose cell has
fewer answers than the report's `min_cell` keeps its key columns and says
`not_enough_responses` instead of figures, exactly like the dashboard.
Hourly rollups, finer than any dashboard cell, are for admins only (they
hold the database anyway): see docs/dashboard.md.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from collector.queries import day_range_utc
from collector.registry import Site
from collector.reports import Report, Tally

MASKED = "not_enough_responses"
Table = tuple[list[str], list[list[Any]]]
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _rate(x: float | None) -> float | None:
    return round(x, 4) if x is not None else None


def _figures(report: Report, tally: Tally, scale: int) -> list[Any]:
    return [tally.total, *[tally.faces.get(r, 0) if r <= scale else None for r in range(1, 6)],
            _rate(tally.satisfaction), _rate(tally.net), ""]


def _masked_figures() -> list[Any]:
    return [None] * 8 + [MASKED]


FIGURE_COLUMNS = ["answers", "r1", "r2", "r3", "r4", "r5", "satisfaction", "net_satisfaction", "note"]


def days_table(report: Report) -> Table:
    """One row per site and local day: raw and filtered totals, then the chosen counts per face."""
    headers = ["site_id", "site_name", "org", "date", "scale", "answers_raw", "answers_filtered", "flagged",
               *FIGURE_COLUMNS]
    rows = []
    for site in report.sites:
        for day in report.all_days():
            raw, filtered = report.site_days.get((site.id, day), (Tally(), Tally()))
            if not raw.total:
                continue
            chosen = filtered if report.counts == "filtered" else raw
            key = [site.id, site.name, site.org, day.isoformat(), site.scale]
            if report.enough(chosen):
                rows.append(key + [raw.total, filtered.total, raw.total - filtered.total]
                            + _figures(report, chosen, site.scale))
            else:
                rows.append(key + [None, None, None] + _masked_figures())
    return headers, rows


def heatmap_table(report: Report) -> Table:
    headers = ["weekday", "hour_local", *FIGURE_COLUMNS]
    rows = []
    for (weekday, hour), tally in sorted(report.heat.items()):
        if not tally.total:
            continue
        key = [WEEKDAY_NAMES[weekday], hour]
        rows.append(key + (_figures(report, tally, report.scale or 5) if report.enough(tally)
                           else _masked_figures()))
    return headers, rows


def sites_table(report: Report) -> Table:
    headers = ["site_id", "site_name", "org", "scale", *FIGURE_COLUMNS]
    rows = []
    for site in report.sites:
        tally = report.by_site.get(site.id, Tally())
        key = [site.id, site.name, site.org, site.scale]
        rows.append(key + (_figures(report, tally, site.scale) if report.enough(tally) else _masked_figures()))
    return headers, rows


def channels_table(report: Report) -> Table:
    headers = ["channel", *FIGURE_COLUMNS]
    rows = []
    for channel, tally in sorted(report.by_channel.items()):
        rows.append([channel] + (_figures(report, tally, report.scale or 5) if report.enough(tally)
                                 else _masked_figures()))
    return headers, rows


def reasons_table(report: Report, answers: dict[tuple[str, str], int],
                  labels: dict[tuple[str, str], tuple[str, str]]) -> Table:
    """One row per follow-up reason over the scope and period (`reports.followup_answers`), labelled."""
    headers = ["followup_question", "choice", "label_fr", "label_en", "answers", "share", "note"]
    total = sum(answers.values())
    rows = []
    for (question, choice), n in sorted(answers.items(), key=lambda kv: (-kv[1], kv[0])):
        fr, en = labels.get((question, choice), (choice, choice))
        key = [question, choice, fr, en]
        rows.append(key + ([n, _rate(n / total), ""] if report.enough(n) else [None, None, MASKED]))
    return headers, rows


def hourly_rollups_table(db: Database, sites: list[Site], report: Report) -> Table:
    """The rollups themselves, unmasked (admins only)."""
    headers = ["site_id", "hour_utc", "question", "channel", "scale", "rating", "in_hours", "n_raw", "n_filtered"]
    rows: list[list[Any]] = []
    for site in sites:
        lo, hi = day_range_utc(site, report.start, report.end)
        rows += [list(r) for r in db.conn.execute(
            "SELECT site, hour, question, channel, scale, rating, in_hours, n_raw, n_filtered FROM rollup_hourly"
            " WHERE site = ? AND hour >= ? AND hour < ? ORDER BY hour, question, channel, rating",
            (site.id, lo, hi))]
    return headers, rows


TABLES = {"days": days_table, "heatmap": heatmap_table, "sites": sites_table, "channels": channels_table}


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    headers, rows = table
    writer.writerow(headers)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def to_xlsx(tables: Iterable[tuple[str, Table]], about: list[tuple[str, str]]) -> bytes:
    """One sheet per table, and a first sheet saying what the file holds."""
    from openpyxl import Workbook  # only the XLSX export needs it
    from openpyxl.styles import Font

    book = Workbook()
    info = book.active
    info.title = "about"
    for key, value in about:
        info.append([key, value])
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 80
    for name, (headers, rows) in tables:
        sheet = book.create_sheet(name)
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
