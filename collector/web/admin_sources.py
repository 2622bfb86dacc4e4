"""Admin page for HTTP sources (web form, telephone line): create one (its token shown once), list, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.registry import MAX_NAME_CHARS, SOURCE_CHANNELS, RegistryError, get_producer, get_site, list_sites
from collector.sources import add_source, list_sources, new_source_token, revoke_source_token
from collector.users import Role
from collector.web import get_db
from collector.web.access import require_role
from collector.web.admin_registry import SLUG_HINT
from collector.web.i18n import t
from ressenti.protocol import is_slug

bp = Blueprint("admin_sources", __name__, url_prefix="/admin/sources")
bp.before_request(require_role(Role.ADMIN))


def _page(new: dict[str, str] | None = None, typed: dict[str, str] | None = None,
          errors: dict[str, str] | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    db = get_db()
    sites = list_sites(db)
    return render_template("admin/sources.html", admin_nav=True, sources=list_sources(db), sites=sites,
                           site_names={s.id: s.name for s in sites}, channels=SOURCE_CHANNELS, new=new,
                           typed=typed or {}, errors=errors or {}), status


@bp.get("")
def sources():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("")
def create():  # type: ignore[no-untyped-def]
    db = get_db()
    form = request.form
    source_id, site = form.get("id", "").strip(), form.get("site", "")
    channel, name = form.get("channel", ""), form.get("name", "").strip()
    errors = {}
    if not is_slug(source_id):
        errors["id"] = t("Identifiant : ", "Id: ") + t(*SLUG_HINT) + "."
    elif get_producer(db, source_id) is not None:
        errors["id"] = t("Cet identifiant est déjà pris (borne ou source) : créez plutôt un jeton pour elle.",
                         "This id is taken (a kiosk or a source): make a new token for it instead.")
    if get_site(db, site) is None:
        errors["site"] = t("Choisissez un site de la liste.", "Choose a site from the list.")
    if channel not in SOURCE_CHANNELS:
        errors["channel"] = t("Choisissez web ou téléphone.", "Choose web or phone.")
    if len(name) > MAX_NAME_CHARS:
        errors["name"] = t(f"{MAX_NAME_CHARS} caractères au plus.", f"{MAX_NAME_CHARS} characters at most.")
    if errors:
        typed = {"id": source_id[:100], "site": site[:100], "channel": channel[:20], "name": name[:200]}
        return _page(typed=typed, errors=errors, status=400)
    try:
        secret = add_source(db, source_id, site, channel, name or None)
    except RegistryError as exc:
        return _page(typed={"id": source_id, "site": site}, errors={"form": str(exc)}, status=400)
    # Shown once, in this response only: never in a flash message (it would sit in the cookie).
    return _page(new={"source": source_id, "token": secret, "channel": channel}, status=201)


@bp.post("/<source_id>/tokens")
def new_token(source_id: str):  # type: ignore[no-untyped-def]
    producer = get_producer(get_db(), source_id)
    if producer is None or producer.channel is None:
        abort(404)
    secret = new_source_token(get_db(), source_id)
    return _page(new={"source": source_id, "token": secret, "channel": producer.channel}, status=201)


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):  # type: ignore[no-untyped-def]
    source_id = revoke_source_token(get_db(), token_id)
    if source_id is None:
        abort(404)
    flash(t(f"Jeton {token_id} de {source_id} révoqué : ses envois sont refusés dès maintenant.",
            f"Token {token_id} of {source_id} revoked: its posts are refused from now on."), "ok")
    return redirect(url_for(".sources"))
