"""Admin page for dashboard users: add one with a role and a scope, disable or enable one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.registry import list_sites, org_names
from collector.users import (
    LOGIN_RE,
    MIN_PASSWORD_CHARS,
    Role,
    UserError,
    add_user,
    find_user,
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


def _page(typed: dict[str, object] | None = None, errors: dict[str, str] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    db = get_db()
    sites = list_sites(db)
    names = org_names(db)
    return render_template("admin/users.html", admin_nav=True, users=list_users(db), sites=sites,
                           orgs=sorted({s.org for s in sites}), org_names=names,
                           site_names={s.id: s.name for s in sites}, roles=list(Role),
                           min_password=MIN_PASSWORD_CHARS, typed=typed or {}, errors=errors or {}), status


@bp.get("")
def users():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("")
def add():  # type: ignore[no-untyped-def]
    db = get_db()
    form = request.form
    login, password = form.get("login", "").strip(), form.get("password", "")
    errors: dict[str, str] = {}
    if not LOGIN_RE.match(login):
        errors["login"] = t("De 2 à 64 lettres, chiffres ou . _ @ -", "2 to 64 letters, digits or . _ @ -")
    elif find_user(db, login) is not None:
        errors["login"] = t("Cet identifiant existe déjà.", "This login already exists.")
    if len(password) < MIN_PASSWORD_CHARS:
        errors["password"] = t(f"Au moins {MIN_PASSWORD_CHARS} caractères.",
                               f"At least {MIN_PASSWORD_CHARS} characters.")
    try:
        role = Role(form.get("role", "viewer"))
    except ValueError:
        role = Role.VIEWER
        errors["role"] = t("Choisissez un rôle de la liste.", "Choose a role from the list.")
    try:
        scope = parse_scope(db, form.getlist("scope"), role)
    except UserError:
        scope = ()
        errors["scope"] = (t("Choisissez un périmètre : tous les sites, une organisation ou un site.",
                             "Choose a scope: every site, an organisation or a site.")
                           if role is not Role.ADMIN and not any(form.getlist("scope"))
                           else t("Ce périmètre n'existe pas.", "This scope does not exist."))
    if not errors:
        try:
            user = add_user(db, login, password, role, scope)
        except UserError as exc:
            errors["form"] = str(exc)
    if errors:
        # Everything typed comes back, except the password.
        typed = {"login": login[:100], "role": form.get("role", ""), "scope": form.getlist("scope")}
        return _page(typed, errors, 400)
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
