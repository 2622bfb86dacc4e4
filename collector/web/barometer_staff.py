"""The staff page of the team barometer (issue 15): `/equipe/<team>`, reached by the team's link or the
QR code of a slip, on a phone or an office PC. No login: the single-use code of the slip is what lets
an answer count (collector/barometer/). Nothing about who answers is kept: no account, no address,
no time finer than the ISO week. It shows no figure; only the team's "what we changed" notes.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request

from collector.barometer import BarometerError
from collector.barometer.answers import enabled_team, submit
from collector.barometer.notes import team_notes
from collector.web import get_db
from collector.web.i18n import lang
from collector.web.scope import DEFAULT_ZONE

bp = Blueprint("barometer_staff", __name__, url_prefix="/equipe")


def _refusal(exc: BarometerError) -> str:
    return exc.fr if lang() == "fr" else str(exc)


def _page(team_id: str, status: int = 200, **extra):  # type: ignore[no-untyped-def]
    db = get_db()
    try:
        team, settings = enabled_team(db, team_id)
    except BarometerError as exc:
        return render_template("barometer/staff_missing.html", reason=_refusal(exc)), 404
    return render_template("barometer/staff.html", team=team, settings=settings, notes=team_notes(db, team.id),
                           code=request.values.get("code", ""), **extra), status


@bp.get("/<team_id>")
def page(team_id: str):  # type: ignore[no-untyped-def]
    return _page(team_id)


@bp.post("/<team_id>")
def answer(team_id: str):  # type: ignore[no-untyped-def]
    db = get_db()
    try:
        _, settings = enabled_team(db, team_id)
    except BarometerError:
        return _page(team_id)
    ratings = {q.id: request.form.get(f"q-{q.id}", "") for q in settings.questions}
    try:
        week = submit(db, team_id, request.form.get("code", ""), ratings, datetime.now(DEFAULT_ZONE).date())
    except BarometerError as exc:
        return _page(team_id, 400, error=_refusal(exc), chosen=ratings)
    return render_template("barometer/staff_thanks.html", week=week, team_id=team_id), 201
