"""Rows of the dashboard's breakdowns: sites ranked, channels, follow-up reasons (totals, per face, over time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from collector.bands import shares_comparable
from collector.config_push import followup_labels, pushed
from collector.followups import questions_of, reasons_by_face, reasons_over_time
from collector.periods import Span, starts
from collector.registry import Site
from collector.reports import Report, Tally, followup_answers, group_of
from collector.web.charts import group_label
from collector.web.i18n import CHANNELS, day_label, lang, t
from ressenti.faces import label as face_label


@dataclass
class Row:
    """One line of a breakdown; `tally` is None when there are too few answers to show it."""

    key: str
    label: str
    tally: Tally | None
    share: float | None = None
    extra: Any = None


def ranking(report: Report, previous: dict[str, Tally]) -> list[Row]:
    """Sites by net satisfaction, the measure that means the same on 3, 4 and 5 faces (docs/figures.md).

    `extra` is the change of net satisfaction against the previous period.
    """
    rows = []
    for site in report.sites:
        tally = report.by_site.get(site.id, Tally())
        before = previous.get(site.id)
        delta = None
        if report.enough(tally) and before is not None and report.enough(before):
            delta = (tally.net or 0) - (before.net or 0)
        rows.append(Row(site.id, site.name, tally if report.enough(tally) else None, extra=delta))
    shown = sorted((r for r in rows if r.tally), key=lambda r: (-(r.tally.net or 0), r.label))  # type: ignore[union-attr]
    return shown + sorted((r for r in rows if not r.tally), key=lambda r: r.label)


def ranking_shares_comparable(rows: list[Row]) -> bool:
    """Are the ranked sites' satisfied shares comparable (no mix of 4 faces with 3 or 5)?"""
    return shares_comparable(*(row.tally.scales for row in rows if row.tally))


def channels(report: Report) -> list[Row]:
    total = report.main.total
    rows = []
    for channel, tally in sorted(report.by_channel.items(), key=lambda kv: -kv[1].total):
        names = CHANNELS.get(channel, (channel, channel))
        ok = report.enough(tally)
        rows.append(Row(channel, names[1] if lang() == "en" else names[0], tally if ok else None,
                        tally.total / total if ok and total else None))
    return rows


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


def followups(db: Any, report: Report, question: str | None = None) -> list[Row]:
    answers = followup_answers(db, report.sites, report.start, report.end, hours=report.hours,
                               counts=report.counts, question=question)
    total = sum(answers.values())
    labels = followup_labels(db, (s.id for s in report.sites))
    rows = []
    for (question, choice), n in sorted(answers.items(), key=lambda kv: -kv[1]):
        fr, en = labels.get((question, choice), (choice, choice))
        ok = report.enough(n)
        tally = Tally.of_count(n) if ok else None
        rows.append(Row(f"{question}:{choice}", en if lang() == "en" else fr, tally,
                        n / total if ok and total else None))
    return rows


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
