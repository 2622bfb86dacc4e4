"""Admin page for wall displays: make a read-only link for an organisation or some sites, revoke it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.registry import list_sites, org_names
from collector.tokens import revoke_token
from collector.users import Role
from collector.walls import WallSubjectError, active_walls, create_wall, wall_sites, wall_subject
from collector.web import get_db, live_hub
from collector.web.access import current_user, require_role
from collector.web.i18n import t

bp = Blueprint("admin_walls", __name__, url_prefix="/admin/walls")
bp.before_request(require_role(Role.ADMIN))


def _page(new_url: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    db = get_db()
    walls = [{**w, "sites": [s.name for s in wall_sites(db, w["subject"])]} for w in active_walls(db)]
    sites = list_sites(db)
    orgs = sorted({s.org for s in sites})
    return render_template("admin/walls.html", admin_nav=True, walls=walls, sites=sites, orgs=orgs,
                           org_names=org_names(db), site_names={s.id: s.name for s in sites},
                           new_url=new_url), status


@bp.get("")
def walls():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("")
def create():  # type: ignore[no-untyped-def]
    org = request.form.get("org") or None
    chosen = request.form.getlist("sites")
    try:
        subject = wall_subject(org, chosen)
    except WallSubjectError:
        flash(t("Choisissez une organisation ou au moins un site.", "Choose an organisation or at least one site."),
              "error")
        return redirect(url_for(".walls"))
    user = current_user()
    label = request.form.get("label", "").strip() or subject
    try:
        _, secret = create_wall(get_db(), subject, f"{label} (par {user.login if user else '?'})")
    except WallSubjectError:  # a site or organisation removed since the form was shown, or a forged form
        flash(t("Cette organisation ou ce site n'existe pas.", "That organisation or site does not exist."), "error")
        return redirect(url_for(".walls"))
    # Shown once, in this response only: never in a flash message (it would sit in the cookie).
    return _page(url_for("wall.page", token=secret, _external=True), 201)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int):  # type: ignore[no-untyped-def]
    db = get_db()
    if not any(w["id"] == token_id and not w["revoked"] for w in active_walls(db)):
        abort(404)
    revoke_token(db, token_id)
    live_hub().token_revoked(token_id)
    flash(t("Lien révoqué : l'écran concerné affiche maintenant « ce lien n'est plus valide ».",
            "Link revoked: that display now says “this link is no longer valid”."), "ok")
    return redirect(url_for(".walls"))
