"""The dashboard: one scope and period at a glance (distribution, rates, hours, sites, reasons, channels)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, current_app, render_template, request

from collector.alerts.store import alerts_in_period
from collector.bands import shares_comparable, trend_comparable
from collector.breakdown_rows import channels, followups, ranking, ranking_shares_comparable
from collector.followups import oldest_kept_event
from collector.periods import Span
from collector.registry import Site
from collector.reports import Report, Tally, build_report
from collector.web import get_db
from collector.web.access import current_user
from collector.web.breakdowns import (
    faces_readable,
    question_choices,
    reasons_by_bucket,
    reasons_per_face,
    reasons_unit,
)
from collector.web.charts import Series, buckets, face_icon, heat_class, satisfaction_line, share_bar, stacked_bars
from collector.web.i18n import day_label, lang, t
from collector.web.scope import PRESETS, Selection, SelectionError, scope_choices, selection

bp = Blueprint("dashboard", __name__)


def heat_hours(report: Report) -> list[int]:
    hours = [h for (_, h), tally in report.heat.items() if tally.total]
    low, high = (min(hours), max(hours)) if hours else (8, 18)
    return list(range(min(low, 8), max(high, 18) + 1))


def previous_label(sel: Selection) -> str:
    """'semaine précédente (27 oct. – 30 oct.)': what the figures are compared with, in words."""
    start, end = sel.previous
    length = (sel.end - sel.start).days + 1
    if sel.start.weekday() == 0 and length <= 7:
        name = t("semaine précédente", "previous week")
    elif sel.start.day == 1 and length <= 31:
        name = t("mois précédent", "previous month")
    else:
        name = t("période précédente", "previous period")
    return f"{name} ({day_label(start)} – {day_label(end, year=start.year != sel.start.year)})"


def hour_profile(report: Report) -> dict[int, Tally]:
    """Each local hour pooled over every weekday: readable when the hour x weekday cells are too small."""
    pooled: dict[int, Tally] = {}
    for (_, hour), tally in report.heat.items():
        pooled.setdefault(hour, Tally()).merge(tally)
    return pooled


def mostly_masked(report: Report) -> bool:
    """Are most of the heat map's non-empty cells under the minimum? Then a wider period would say more."""
    cells = [tally for tally in report.heat.values() if tally.total]
    return bool(cells) and sum(1 for c in cells if not report.enough(c)) * 2 > len(cells)


WIDER = {"week": "30d", "last-week": "30d", "7d": "30d", "month": "year", "last-month": "year", "30d": "year"}


def kept_from(db: Any, sel: Selection) -> date | None:
    """The first local day of raw events kept: the per-face reasons cover no earlier."""
    stamp = oldest_kept_event(db, sel.sites)
    return date.fromisoformat(stamp[:10]) if stamp else None


def build_view(db: Any, sel: Selection) -> dict[str, Any]:
    min_cell = current_app.config["MIN_CELL"]
    report = build_report(db, sel.sites, sel.start, sel.end, hours=sel.hours, counts=sel.counts,
                          min_cell=min_cell, question=sel.question)
    # The whole previous period, not only its total: its days are drawn faintly behind this period's.
    before_report = build_report(db, sel.sites, *sel.previous, hours=sel.hours,
                                 counts=sel.counts, min_cell=min_cell, question=sel.question)
    before = before_report.main
    unit, items = buckets(report)
    _, before_items = buckets(before_report)
    unit_name = {"day": t("jour", "day"), "week": t("semaine", "week"), "month": t("mois", "month")}[unit]
    series = Series.of(report)
    rows = ranking(report, before_report.by_site) if len(sel.sites) > 1 else []
    trend = None
    before_comparable = trend_comparable(report.main.scales, before.scales)
    if (report.main.satisfaction is not None and before.satisfaction is not None and report.enough(before)
            and before_comparable):
        trend = report.main.satisfaction - before.satisfaction
    shown_before = before_items if any(report.enough(b.tally) for b in before_items) else None
    reasons = followups(db, report, lang(), sel.question)
    return {
        "report": report, "items": items, "unit": unit_name, "series": series, "trend": trend,
        "before": before if report.enough(before) else None, "before_comparable": before_comparable,
        "before_label": previous_label(sel),
        "has_before": shown_before is not None,
        "bars": stacked_bars(report, items, series, t(f"Réponses par {unit_name}", f"Answers per {unit_name}"),
                             previous=shown_before),
        "line": satisfaction_line(report, items, t(f"Satisfaction par {unit_name}",
                                                   f"Satisfaction per {unit_name}"), previous=shown_before),
        "ranking": rows, "ranking_shares_comparable": ranking_shares_comparable(rows),
        "line_shares_comparable": shares_comparable(*(b.tally.scales for b in items)),
        "channels": channels(report, lang()), "followups": reasons, "hours": heat_hours(report),
        "reason_faces": reasons_per_face(db, report, reasons, sel.question)
        if reasons and faces_readable(report) else None,
        "faces_too_wide": bool(reasons) and not faces_readable(report),
        "reason_times": reasons_by_bucket(db, report, reasons, sel.question) if reasons else None,
        "reason_unit": t("jour", "day") if reasons_unit(report) is Span.DAY else t("mois", "month"),
        "events_kept_from": kept_from(db, sel) if reasons and faces_readable(report) else None,
        "period_alerts": alerts_in_period(db, [s.id for s in sel.sites], sel.start, sel.end),
        "site_names": {s.id: s.name for s in sel.sites},
        "profile": hour_profile(report), "mostly_masked": mostly_masked(report),
        "wider": WIDER.get(sel.preset or "", "year" if (sel.end - sel.start).days < 300 else None),
    }


def filters_context(db: Any, user: Any, values: dict[str, str], errors: dict[str, str], summary: str,
                    preset: str | None, sites: list[Site] | None = None) -> dict[str, Any]:
    keep = {k: v for k, v in values.items() if k in ("scope", "hours", "counts", "question") and v}
    questions = question_choices(db, sites[0]) if sites and len(sites) == 1 else []
    return {"values": values, "errors": errors, "summary": summary, "presets": PRESETS, "preset_args": keep,
            "current_preset": preset, "choices": scope_choices(db, user),
            "questions": questions if len(questions) > 1 else []}


@bp.app_errorhandler(SelectionError)
def invalid_selection(exc: SelectionError):  # type: ignore[no-untyped-def]
    """Filters that cannot be applied: the dashboard's form again, as typed, the error next to its field."""
    user = current_user()
    values = {k: request.args.get(k, "")[:100] for k in ("scope", "from", "to", "hours", "counts", "question")}
    context = filters_context(get_db(), user, values, {exc.field: t(exc.fr, exc.en)},
                              t("à corriger", "to correct"), None)
    return render_template("dashboard/invalid.html", **context), 400


@bp.app_errorhandler(400)
def bad_request(error):  # type: ignore[no-untyped-def]
    """Any other refused request on a page: the site's own page with its navigation, not Werkzeug's."""
    if request.blueprint in ("api", "api_admin", "api_events"):
        return error  # the JSON API answers for itself
    return render_template("errors/error.html", code=400, title=("Demande incorrecte", "Bad request"),
                           text=("Cette page ne peut pas être affichée avec ces paramètres.",
                                 "This page cannot be shown with these parameters."),
                           detail=error.description), 400


@bp.get("/dashboard")
def overview():  # type: ignore[no-untyped-def]
    db = get_db()
    user = current_user()
    assert user is not None  # the login wall lets no one else here
    sel = selection(db, user)
    values = {"scope": sel.scope, "from": sel.start.isoformat(), "to": sel.end.isoformat(), "hours": sel.hours,
              "counts": sel.counts, "question": sel.question or ""}
    summary = f"{sel.label} · {day_label(sel.start)} – {day_label(sel.end, year=True)}"
    filters = filters_context(db, user, values, {}, summary, sel.preset, sel.sites)
    return render_template("dashboard/overview.html", sel=sel, face_icon=face_icon, share_bar=share_bar,
                           heat_class=heat_class, **filters, **build_view(db, sel))
