"""Admin page of the team barometer (issue 15): turn it on per organisation, define teams, print a sheet
of single-use codes (PDF, one slip per team member, each with the QR code of the staff page)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for

from collector.barometer import BarometerError
from collector.barometer.codes import code_stats, new_codes
from collector.barometer.settings import (
    get_settings,
    labels_text,
    parse_labels,
    parse_questions,
    questions_text,
    save_settings,
)
from collector.barometer.teams import get_team, list_teams, save_team
from collector.barometer.weeks import week_of
from collector.registry import list_sites, org_names
from collector.reports_pdf.render import RendererMissing, html_pdf, qr_data_uri
from collector.users import Role
from collector.web import get_db
from collector.web.access import require_role
from collector.web.i18n import lang
from collector.web.scope import DEFAULT_ZONE

bp = Blueprint("admin_barometer", __name__, url_prefix="/admin/barometer")
bp.before_request(require_role(Role.ADMIN))


def _say(exc: BarometerError) -> str:
    return exc.fr if lang() == "fr" else str(exc)


@bp.get("")
def page():  # type: ignore[no-untyped-def]
    from datetime import datetime
    db = get_db()
    names = org_names(db)
    orgs = [(org, names.get(org, org), get_settings(db, org)) for org in sorted(names)]
    teams = [(t, code_stats(db, t.id)[:4]) for t in list_teams(db)]
    return render_template("barometer/admin.html", admin_nav=True, orgs=orgs, teams=teams, sites=list_sites(db),
                           questions_text=questions_text, labels_text=labels_text,
                           this_week=week_of(datetime.now(DEFAULT_ZONE).date()))


@bp.post("/settings")
def settings():  # type: ignore[no-untyped-def]
    form = request.form
    try:
        scale = form.get("scale", "4")
        save_settings(get_db(), form.get("org", ""), enabled=form.get("enabled") == "1",
                      min_group=form.get("min_group", "5"), scale=scale,
                      labels=parse_labels(form.get("labels", ""), int(scale) if scale.strip().isdigit() else 0)
                      if scale.strip() in ("3", "4", "5") else None,
                      questions=parse_questions(form.get("questions", "")))
    except BarometerError as exc:
        flash(_say(exc), "error")
        return redirect(url_for(".page")), 303
    flash("Réglages enregistrés." if lang() == "fr" else "Settings saved.", "ok")
    return redirect(url_for(".page"))


@bp.post("/teams")
def teams():  # type: ignore[no-untyped-def]
    try:
        save_team(get_db(), request.form.get("id", ""), request.form.get("name", ""), request.form.getlist("sites"))
    except BarometerError as exc:
        flash(_say(exc), "error")
        return redirect(url_for(".page")), 303
    flash("Équipe enregistrée." if lang() == "fr" else "Team saved.", "ok")
    return redirect(url_for(".page"))


@bp.post("/codes")
def codes():  # type: ignore[no-untyped-def]
    db = get_db()
    team = get_team(db, request.form.get("team", ""))
    if team is None:
        abort(404)
    base = current_app.config.get("BASE_URL") or request.host_url
    link = f"{base.rstrip('/')}{url_for('barometer_staff.page', team_id=team.id)}"
    count = request.form.get("count", "").strip()
    try:
        week = request.form.get("week", "").strip()
        issued = new_codes(db, team, week, int(count) if count.isdigit() and len(count) < 4 else 0)
        slips = [(code, qr_data_uri(f"{link}?code={code}")) for code in issued]
        pdf = html_pdf(render_template("barometer/codes_sheet.html", team=team, week=week, slips=slips, link=link))
    except RendererMissing as exc:
        return render_template("errors/error.html", code=503, title=("Impression impossible", "Cannot print"),
                               text=(str(exc), str(exc))), 503
    except BarometerError as exc:
        flash(_say(exc), "error")
        return redirect(url_for(".page")), 303
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="barometre-{team.id}-{week}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
