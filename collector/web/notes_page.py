"""Dashboard page where a manager writes the "Vous nous avez dit… / Nous avons fait…" notes (issue 13)."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.notes import MAX_CHARS, NoteError, check_scope, delete_note, get_note, save_note
from collector.public_results import last_full_month
from collector.registry import get_site
from collector.users import Role, User
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.i18n import t
from collector.web.scope import DEFAULT_ZONE, scope_choices

bp = Blueprint("notes_page", __name__, url_prefix="/notes")
bp.before_request(require_role(Role.MANAGER))


def _may_write(user: User, scope: str) -> bool:
    """Like the dashboard: a site the user may see, or a whole organisation of the user's scope."""
    try:
        kind, ident = check_scope(scope)
    except NoteError:
        return False
    if kind == "site":
        site = get_site(get_db(), ident)
        return site is not None and user.may_see(site)
    exists = get_db()["orgs"].count_where("id = ?", [ident])
    return bool(exists) and (user.sees_everything() or f"org:{ident}" in user.scope)


def _scopes(user: User) -> list[tuple[str, str]]:
    return [(value, label) for value, label in scope_choices(get_db(), user) if value != "all"
            and _may_write(user, value)]


@bp.get("")
def notes():  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    choices = _scopes(user)
    if not choices:
        abort(403)
    scope = request.args.get("scope") or choices[0][0]
    if scope not in dict(choices):
        abort(403)
    period = request.args.get("period") or last_full_month(datetime.now(DEFAULT_ZONE).date()).strftime("%Y-%m")
    db = get_db()
    recent = [dict(r) for r in db.query("SELECT * FROM published_notes WHERE scope = ? ORDER BY period DESC"
                                        " LIMIT 24", [scope])]
    return render_template("notes/notes.html", choices=choices, scope=scope, period=period,
                           note=get_note(db, scope, period), recent=recent, max_chars=MAX_CHARS)


@bp.post("")
def save():  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    form = request.form
    scope, period = form.get("scope", ""), form.get("period", "").strip()
    if not _may_write(user, scope):
        abort(403)
    back = url_for(".notes", scope=scope, period=period)
    try:
        if form.get("delete"):
            delete_note(get_db(), scope, period)
            flash(t("Note supprimée.", "Note deleted."), "ok")
            return redirect(back)
        save_note(get_db(), scope, period, said_fr=form.get("said_fr", ""), done_fr=form.get("done_fr", ""),
                  said_en=form.get("said_en"), done_en=form.get("done_en"), author=user.login,
                  today=datetime.now(DEFAULT_ZONE).date())
    except NoteError as exc:
        flash(str(exc), "error")
        return render_template("notes/notes.html", choices=_scopes(user), scope=scope, period=period,
                               note=None, draft=form, recent=[], max_chars=MAX_CHARS), 400
    flash(t(f"Note enregistrée pour {period}.", f"Note saved for {period}."), "ok")
    return redirect(back)
