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

from collector.publication import NOT_ENOUGH
from collector.queries import day_range_utc
from collector.registry import Site
from collector.reports import Report, Tally

MASKED = NOT_ENOUGH  # collector/publication.py
Table = tuple[list[str], list[list[Any]]]
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _rate(x: float | None) -> float | None:
    return round(x, 4) if x is not None else None


def _scale(tally: Tally, default: int | None = None) -> int | str | None:
    """The scale the cell's answers were given on, or "4,5" when they span several (a scale change, a scope)."""
    scales = tally.scales
    if not scales:
        return default
    return scales[0] if len(scales) == 1 else ",".join(map(str, scales))


def _figures(tally: Tally) -> list[Any]:
    """Bands always; faces only when the cell has one scale: r3 is the top face of three, the middle of five."""
    scales = tally.scales
    faces = tally.faces if len(scales) == 1 else {}
    top = scales[0] if len(scales) == 1 else 0
    return [tally.total, tally.top, tally.middle, tally.bottom,
            *[faces.get(r, 0) if r <= top else None for r in range(1, 6)],
            _rate(tally.satisfaction), _rate(tally.net), ""]


FIGURE_COLUMNS = ["answers", "satisfied", "neutral", "dissatisfied", "r1", "r2", "r3", "r4", "r5",
                  "satisfaction", "net_satisfaction", "note"]


def _masked_figures() -> list[Any]:
    return [None] * (len(FIGURE_COLUMNS) - 1) + [MASKED]


def days_table(report: Report) -> Table:
    """One row per site and local day: raw and filtered totals, then the chosen counts per band and face."""
    headers = ["site_id", "site_name", "org", "date", "scale", "answers_raw", "answers_filtered", "flagged",
               *FIGURE_COLUMNS]
    rows = []
    for site in report.sites:
        for day in report.all_days():
            raw, filtered = report.site_days.get((site.id, day), (Tally(), Tally()))
            if not raw.total:
                continue
            chosen = filtered if report.counts == "filtered" else raw
            key = [site.id, site.name, site.org, day.isoformat(), _scale(raw)]
            if report.enough(chosen):
                rows.append(key + [raw.total, filtered.total, raw.total - filtered.total] + _figures(chosen))
            else:
                rows.append(key + [None, None, None] + _masked_figures())
    return headers, rows


def heatmap_table(report: Report) -> Table:
    """One row per local weekday and hour; across sites of several scales, bands only."""
    headers = ["weekday", "hour_local", "scale", *FIGURE_COLUMNS]
    rows = []
    for (weekday, hour), tally in sorted(report.heat.items()):
        if not tally.total:
            continue
        key = [WEEKDAY_NAMES[weekday], hour, _scale(tally)]
        rows.append(key + (_figures(tally) if report.enough(tally) else _masked_figures()))
    return headers, rows


def sites_table(report: Report) -> Table:
    """One row per site; `scale` is the scale(s) of the period's answers (the current one when none)."""
    headers = ["site_id", "site_name", "org", "scale", *FIGURE_COLUMNS]
    rows = []
    for site in report.sites:
        tally = report.by_site.get(site.id, Tally())
        key = [site.id, site.name, site.org, _scale(tally, site.scale)]
        rows.append(key + (_figures(tally) if report.enough(tally) else _masked_figures()))
    return headers, rows


def channels_table(report: Report) -> Table:
    """One row per channel; across sites of several scales, bands only."""
    headers = ["channel", "scale", *FIGURE_COLUMNS]
    rows = []
    for channel, tally in sorted(report.by_channel.items()):
        rows.append([channel, _scale(tally)] + (_figures(tally) if report.enough(tally) else _masked_figures()))
    return headers, rows


def reasons_table(report: Report, answers: dict[tuple[str, str], int],
                  labels: dict[tuple[str, str], tuple[str, str]]) -> Table:
    """Answers to the follow-up question per choice, with the labels the kiosks showed."""
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


# A spreadsheet reads a CSV cell starting with one of these as a formula (`=HYPERLINK(...)` in a
# site's name would run when the file is opened): OWASP's rule is to prefix it with a single quote.
# https://owasp.org/www-community/attacks/CSV_Injection
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A value as written in a CSV cell: text that a spreadsheet would read as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    headers, rows = table
    writer.writerow(headers)
    writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _append_text_safe(sheet: Any, row: list[Any]) -> None:
    """Append a row; every text cell is stored as a string, never parsed as a formula.

    openpyxl stores a string that starts with "=" as a formula; the value is
    kept as it is (a name that starts with "=" is still that name), its type is not.
    """
    sheet.append(row)
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def to_xlsx(tables: Iterable[tuple[str, Table]], about: list[tuple[str, str]]) -> bytes:
    """One sheet per table, and a first sheet saying what the file holds."""
    from openpyxl import Workbook  # only the XLSX export needs it
    from openpyxl.styles import Font

    book = Workbook()
    info = book.active
    info.title = "about"
    for key, value in about:
        _append_text_safe(info, [key, value])
    info.column_dimensions["A"].width = 22
    info.column_dimensions["B"].width = 80
    for name, (headers, rows) in tables:
        sheet = book.create_sheet(name)
        _append_text_safe(sheet, headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            _append_text_safe(sheet, row)
        sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
