"""The dashboard: one scope and period at a glance (distribution, rates, hours, sites, reasons, channels)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, render_template, request

from collector.config_push import DEFAULT_FOLLOWUP, pushed
from collector.registry import Site
from collector.reports import Report, Tally, build_report, followup_answers
from collector.web import get_db
from collector.web.access import current_user
from collector.web.charts import Series, buckets, face_icon, heat_class, satisfaction_line, share_bar, stacked_bars
from collector.web.i18n import day_label, lang, t
from collector.web.scope import PRESETS, Selection, SelectionError, scope_choices, selection

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
    rows = []
    for site in report.sites:
        tally = report.by_site.get(site.id, Tally())
        before = previous.get(site.id)
        delta = None
        if report.enough(tally) and before is not None and report.enough(before):
            delta = (tally.satisfaction or 0) - (before.satisfaction or 0)
        rows.append(Row(site.id, site.name, tally if report.enough(tally) else None, extra=delta))
    shown = sorted((r for r in rows if r.tally), key=lambda r: -(r.tally.satisfaction or 0))  # type: ignore[union-attr]
    return shown + sorted((r for r in rows if not r.tally), key=lambda r: r.label)


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


def followup_labels(db: Any, sites: list[Site]) -> dict[tuple[str, str], tuple[str, str]]:
    """(question, choice) -> (fr, en) from the configs pushed to these sites, then the defaults."""
    labels = {(DEFAULT_FOLLOWUP["id"], c["id"]): (c["fr"], c.get("en", c["fr"]))
              for c in DEFAULT_FOLLOWUP["choices"]}
    site_ids = {s.id for s in sites}
    for row in pushed(db).values():
        followup = row["settings"].get("followup")
        if row["site"] in site_ids and isinstance(followup, dict):
            for c in followup.get("choices", []):
                labels[(followup.get("id", "why"), c["id"])] = (c["fr"], c.get("en") or c["fr"])
    return labels


def followups(db: Any, report: Report) -> list[Row]:
    answers = followup_answers(db, report.sites, report.start, report.end, hours=report.hours,
                               counts=report.counts)
    total = sum(answers.values())
    labels = followup_labels(db, report.sites)
    rows = []
    for (question, choice), n in sorted(answers.items(), key=lambda kv: -kv[1]):
        fr, en = labels.get((question, choice), (choice, choice))
        ok = n >= report.min_cell
        tally = Tally.of_count(n) if ok else None
        rows.append(Row(f"{question}:{choice}", en if lang() == "en" else fr, tally,
                        n / total if ok and total else None))
    return rows


def heat_hours(report: Report) -> list[int]:
    hours = [h for (_, h), tally in report.heat.items() if tally.total]
    low, high = (min(hours), max(hours)) if hours else (8, 18)
    return list(range(min(low, 8), max(high, 18) + 1))


def previous_label(sel: Selection) -> str:
    """'semaine précédente (27 oct. – 30 oct.)': what the figures are compared with, in words."""
    start, end = sel.previous_start, sel.previous_end
    assert start is not None and end is not None
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


def build_view(db: Any, sel: Selection) -> dict[str, Any]:
    min_cell = current_app.config["MIN_CELL"]
    report = build_report(db, sel.sites, sel.start, sel.end, hours=sel.hours, counts=sel.counts,
                          min_cell=min_cell)
    assert sel.previous_start is not None and sel.previous_end is not None
    # The whole previous period, not only its total: its days are drawn faintly behind this period's.
    before_report = build_report(db, sel.sites, sel.previous_start, sel.previous_end, hours=sel.hours,
                                 counts=sel.counts, min_cell=min_cell)
    before = before_report.main
    unit, items = buckets(report)
    _, before_items = buckets(before_report)
    unit_name = {"day": t("jour", "day"), "week": t("semaine", "week"), "month": t("mois", "month")}[unit]
    series = Series.of(report)
    trend = None
    if report.main.satisfaction is not None and before.satisfaction is not None and report.enough(before):
        trend = report.main.satisfaction - before.satisfaction
    shown_before = before_items if any(report.enough(b.tally) for b in before_items) else None
    return {
        "report": report, "items": items, "unit": unit_name, "series": series, "trend": trend,
        "before": before if report.enough(before) else None, "before_label": previous_label(sel),
        "has_before": shown_before is not None,
        "bars": stacked_bars(report, items, series, t(f"Réponses par {unit_name}", f"Answers per {unit_name}"),
                             previous=shown_before),
        "line": satisfaction_line(report, items, t(f"Satisfaction par {unit_name}",
                                                   f"Satisfaction per {unit_name}"), previous=shown_before),
        "ranking": ranking(report, before_report.by_site) if len(sel.sites) > 1 else [],
        "channels": channels(report), "followups": followups(db, report), "hours": heat_hours(report),
        "profile": hour_profile(report), "mostly_masked": mostly_masked(report),
        "wider": WIDER.get(sel.preset or "", "year" if (sel.end - sel.start).days < 300 else None),
    }


def filters_context(db: Any, user: Any, values: dict[str, str], errors: dict[str, str], summary: str,
                    preset: str | None) -> dict[str, Any]:
    keep = {k: v for k, v in values.items() if k in ("scope", "hours", "counts") and v}
    return {"values": values, "errors": errors, "summary": summary, "presets": PRESETS, "preset_args": keep,
            "current_preset": preset, "choices": scope_choices(db, user)}


@bp.app_errorhandler(SelectionError)
def invalid_selection(exc: SelectionError):  # type: ignore[no-untyped-def]
    """Filters that cannot be applied: the dashboard's form again, as typed, the error next to its field."""
    user = current_user()
    values = {k: request.args.get(k, "")[:100] for k in ("scope", "from", "to", "hours", "counts")}
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
              "counts": sel.counts}
    summary = f"{sel.label} · {day_label(sel.start)} – {day_label(sel.end, year=True)}"
    return render_template("dashboard/overview.html", sel=sel, face_icon=face_icon, share_bar=share_bar,
                           heat_class=heat_class, **filters_context(db, user, values, {}, summary, sel.preset),
                           **build_view(db, sel))
