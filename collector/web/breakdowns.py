"""The dashboard's own breakdowns: follow-up reasons per face and over time, the question choices.

The rows shared with the printed reports (ranking, channels, reasons) are in
collector/breakdown_rows.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collector.breakdown_rows import Row
from collector.config_push import pushed
from collector.followups import questions_of, reasons_by_face, reasons_over_time
from collector.periods import Span, starts
from collector.registry import Site
from collector.reports import Report, group_of
from collector.web.charts import group_label
from collector.web.i18n import day_label, lang, t
from ressenti.faces import label as face_label


def question_choices(db: Any, site: Site) -> list[tuple[str, str]]:
    """(question id, its text) of every question a site's answers were given to."""
    texts = {}
    for row in pushed(db).values():
        settings = row["settings"]
        if row["site"] == site.id and isinstance(settings.get("question"), dict):
            question = settings["question"]
            texts[settings.get("question_id", "overall")] = question.get("en" if lang() == "en" else "fr") \
                or question.get("fr", "")
    default = t("Question principale", "Main question")
    return [(q, texts.get(q) or (default if q == "overall" else q)) for q in questions_of(db, site)]


GROUP_ORDER = {"bottom": 0, "middle": 1, "top": 2}  # the worst first, as faces 1, 2...
MAX_REASONS_OVER_TIME = 6
# Per face reads raw events (about 120 ms per site-year on the benchmark machine, under load):
# beyond this many site-days the page says to narrow the scope or the period instead.
MAX_FACE_SITE_DAYS = 400  # columns of the reasons-over-time table; the rest are in the totals


@dataclass
class ReasonGrid:
    """A table of follow-up answers: rows x columns of counts, None where a cell is too small to show."""

    columns: list[tuple[str, str]]  # (key, label)
    rows: list[tuple[str, list[int | None | str]]]  # (label, cells): a count, None (masked) or "" (none)


def _cell(n: int, min_cell: int) -> int | None | str:
    return "" if not n else n if n >= min_cell else None


def faces_readable(report: Report) -> bool:
    """Is the scope and period small enough to read reasons per face from the raw events?"""
    return len(report.sites) * ((report.end - report.start).days + 1) <= MAX_FACE_SITE_DAYS


def reasons_per_face(db: Any, report: Report, reasons: list[Row], question: str | None = None) -> ReasonGrid:
    """Each reason's answers per face (one scale) or per group (mixed scales), from the events kept."""
    table = reasons_by_face(db, report.sites, report.start, report.end, hours=report.hours, counts=report.counts,
                            question=question)
    counts: dict[tuple[str, str], int] = {}
    for (scale, rating, (question, choice)), n in table.items():
        key = str(rating) if report.scale is not None else group_of(scale, rating)
        counts[(f"{question}:{choice}", key)] = counts.get((f"{question}:{choice}", key), 0) + n
    keys = sorted({key for _, key in counts}, key=lambda k: int(k) if k.isdigit() else GROUP_ORDER[k])
    if report.scale is not None:
        columns = [(k, face_label(report.scale, int(k), lang())) for k in keys]
    else:
        columns = [(k, group_label(k)) for k in keys]
    rows = [(row.label, [_cell(counts.get((row.key, k), 0), report.min_cell) for k, _ in columns]) for row in reasons]
    return ReasonGrid(columns, [r for r in rows if any(c != "" for c in r[1])])


def reasons_unit(report: Report) -> Span:
    """Days while the bars are days, else months: follow-ups are kept per day and month, not per week."""
    return Span.DAY if report.unit is Span.DAY else Span.MONTH


def reasons_by_bucket(db: Any, report: Report, reasons: list[Row], question: str | None = None) -> ReasonGrid:
    """The main reasons' answers per day (or month), from the follow-up rollups."""
    unit = reasons_unit(report)
    table = reasons_over_time(db, report.sites, report.start, report.end, unit, hours=report.hours,
                              counts=report.counts, question=question)
    shown = reasons[:MAX_REASONS_OVER_TIME]
    columns = [(row.key, row.label) for row in shown]
    rows = []
    for start in starts(unit, report.start, report.end):
        cells = [_cell(table.get((start, tuple(key.split(":", 1))), 0), report.min_cell)  # type: ignore[arg-type]
                 for key, _ in columns]
        if any(c != "" for c in cells):
            label = day_label(start, year=True)
            rows.append((label if unit is Span.DAY else label.split(" ", 1)[1], cells))
    return ReasonGrid(columns, rows)
