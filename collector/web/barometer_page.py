"""The managers' view of the team barometer (issue 15), in the dashboard area: per team, per closed week
or month, beside the users' net satisfaction of the team's sites; and the "what we changed" note.

Managers and admins only; a team is visible when every one of its sites is in the user's scope.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from collector.barometer import BarometerError
from collector.barometer.figures import team_figures
from collector.barometer.notes import save_note, team_notes
from collector.barometer.settings import get_settings
from collector.barometer.teams import Team, list_teams
from collector.users import Role, User
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.i18n import lang
from collector.web.scope import DEFAULT_ZONE

bp = Blueprint("barometer_page", __name__, url_prefix="/dashboard/barometer")
bp.before_request(require_role(Role.MANAGER))


def _teams(user: User) -> list[Team]:
    db = get_db()
    out = []
    for team in list_teams(db):
        sites = team.sites(db)
        if sites and all(user.may_see(s) for s in sites) and get_settings(db, team.org).enabled:
            out.append(team)
    return out


def _team(user: User, team_id: str | None) -> Team | None:
    teams = _teams(user)
    if not teams:
        return None
    if team_id is None:
        return teams[0]
    team = next((t for t in teams if t.id == team_id), None)
    if team is None:
        abort(403)
    return team


@bp.get("")
def view():  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    team = _team(user, request.args.get("team"))
    unit = request.args.get("unit", "week")
    if unit not in ("week", "month"):
        unit = "week"
    if team is None:
        return render_template("barometer/manager.html", teams=[], team=None, figures=None)
    db = get_db()
    figures = team_figures(db, team, unit, datetime.now(DEFAULT_ZONE).date(), count=8 if unit == "week" else 6,
                           min_cell=current_app.config["MIN_CELL"])
    return render_template("barometer/manager.html", teams=_teams(user), team=team, unit=unit, figures=figures,
                           settings=get_settings(db, team.org), notes=team_notes(db, team.id))


@bp.post("/notes")
def note():  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    team = _team(user, request.form.get("team", ""))
    if team is None:
        abort(403)
    unit = request.form.get("unit", "week")
    try:
        save_note(get_db(), team.id, unit, request.form.get("period", "").strip(), request.form.get("text_fr", ""),
                  request.form.get("text_en"), author=user.login)
    except BarometerError as exc:
        flash(exc.fr if lang() == "fr" else str(exc), "error")
        return redirect(url_for(".view", team=team.id, unit=unit))
    flash("Note enregistrée." if lang() == "fr" else "Note saved.", "ok")
    return redirect(url_for(".view", team=team.id, unit=unit))
