"""Admin page for dashboard users: add one with a role and a scope, disable or enable one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.registry import list_sites, org_names
from collector.users import (
    MIN_PASSWORD_CHARS,
    Role,
    UserError,
    add_user,
    get_user,
    list_users,
    parse_scope,
    set_disabled,
)
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.i18n import t

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")
bp.before_request(require_role(Role.ADMIN))


@bp.get("")
def users():  # type: ignore[no-untyped-def]
    db = get_db()
    sites = list_sites(db)
    names = org_names(db)
    return render_template("admin/users.html", admin_nav=True, users=list_users(db), sites=sites,
                           orgs=sorted({s.org for s in sites}), org_names=names,
                           site_names={s.id: s.name for s in sites}, roles=list(Role),
                           min_password=MIN_PASSWORD_CHARS)


@bp.post("")
def add():  # type: ignore[no-untyped-def]
    db = get_db()
    form = request.form
    try:
        role = Role(form.get("role", "viewer"))
        scope = parse_scope(db, form.getlist("scope"), role)
        user = add_user(db, form.get("login", "").strip(), form.get("password", ""), role, scope)
    except (UserError, ValueError) as exc:
        flash(str(exc), "error")
        return redirect(url_for(".users"))
    flash(t(f"Utilisateur {user.login} ajouté.", f"User {user.login} added."), "ok")
    return redirect(url_for(".users"))


@bp.post("/<int:user_id>/disabled")
def toggle(user_id: int):  # type: ignore[no-untyped-def]
    db = get_db()
    user = get_user(db, user_id)
    me = current_user()
    if user is None:
        abort(404)
    if me is not None and me.id == user.id:
        flash(t("Vous ne pouvez pas désactiver votre propre compte.", "You cannot disable your own account."), "error")
        return redirect(url_for(".users"))
    set_disabled(db, user_id, not user.disabled)
    flash(t(f"Compte {user.login} {'réactivé' if user.disabled else 'désactivé'}.",
            f"Account {user.login} {'enabled' if user.disabled else 'disabled'}."), "ok")
    return redirect(url_for(".users"))
