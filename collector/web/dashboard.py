"""The dashboard: one scope and period at a glance (distribution, rates, hours, sites, reasons, channels)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, render_template

from collector.bands import shares_comparable
from collector.config_push import followup_labels
from collector.reports import Report, Tally, build_report, followup_answers, previous_satisfaction
from collector.web import get_db
from collector.web.access import current_user
from collector.web.charts import Series, buckets, face_icon, heat_class, satisfaction_line, share_bar, stacked_bars
from collector.web.i18n import lang, t
from collector.web.scope import PRESETS, Selection, scope_choices, selection

bp = Blueprint("dashboard", __name__)


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
    from collector.web.i18n import CHANNELS
    total = report.main.total
    rows = []
    for channel, tally in sorted(report.by_channel.items(), key=lambda kv: -kv[1].total):
        names = CHANNELS.get(channel, (channel, channel))
        ok = report.enough(tally)
        rows.append(Row(channel, names[1] if lang() == "en" else names[0], tally if ok else None,
                        tally.total / total if ok and total else None))
    return rows


def followups(db: Any, report: Report) -> list[Row]:
    answers = followup_answers(db, report.sites, report.start, report.end, hours=report.hours,
                               counts=report.counts)
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


def heat_hours(report: Report) -> list[int]:
    hours = [h for (_, h), tally in report.heat.items() if tally.total]
    low, high = (min(hours), max(hours)) if hours else (8, 18)
    return list(range(min(low, 8), max(high, 18) + 1))


def previous_total(previous: dict[str, Tally]) -> Tally:
    total = Tally()
    for tally in previous.values():
        total.merge(tally)
    return total


def build_view(db: Any, sel: Selection) -> dict[str, Any]:
    min_cell = current_app.config["MIN_CELL"]
    report = build_report(db, sel.sites, sel.start, sel.end, hours=sel.hours, counts=sel.counts,
                          min_cell=min_cell)
    previous = previous_satisfaction(db, sel.sites, sel.start, sel.end, hours=sel.hours, counts=sel.counts)
    before = previous_total(previous)
    unit, items = buckets(report)
    unit_name = {"day": t("jour", "day"), "week": t("semaine", "week"), "month": t("mois", "month")}[unit]
    series = Series.of(report)
    rows = ranking(report, previous) if len(sel.sites) > 1 else []
    trend = None
    if (report.main.satisfaction is not None and before.satisfaction is not None and report.enough(before)
            and shares_comparable(report.main.scales, before.scales)):
        trend = report.main.satisfaction - before.satisfaction
    return {
        "report": report, "items": items, "unit": unit_name, "series": series, "trend": trend,
        "bars": stacked_bars(report, items, series, t(f"Réponses par {unit_name}", f"Answers per {unit_name}")),
        "line": satisfaction_line(report, items, t(f"Satisfaction par {unit_name}",
                                                   f"Satisfaction per {unit_name}")),
        "ranking": rows, "ranking_shares_comparable": ranking_shares_comparable(rows),
        "line_shares_comparable": shares_comparable(*(b.tally.scales for b in items)),
        "channels": channels(report), "followups": followups(db, report), "hours": heat_hours(report),
    }


@bp.get("/dashboard")
def overview():  # type: ignore[no-untyped-def]
    db = get_db()
    user = current_user()
    assert user is not None  # the login wall lets no one else here
    sel = selection(db, user)
    return render_template("dashboard/overview.html", sel=sel, choices=scope_choices(db, user), presets=PRESETS,
                           face_icon=face_icon, share_bar=share_bar, heat_class=heat_class,
                           **build_view(db, sel))
