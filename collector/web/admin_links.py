"""Admin page for survey links: create one per site (and desk), revoke it, and take it to citizens:
printable QR cards (A5, A6, sticker), the QR code as SVG, the short link, a button for the town's website."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for

from collector.registry import get_site, list_sites
from collector.reports_pdf.render import RendererMissing
from collector.survey.cards import CARD_SIZES, CardError, card_pdf, embed_snippet, link_url, qr_svg
from collector.survey.links import LinkError, create_link, get_link, list_links, revoke_link
from collector.users import Role
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.i18n import t

bp = Blueprint("admin_links", __name__, url_prefix="/admin/survey-links")
bp.before_request(require_role(Role.ADMIN))


def _page(errors: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    db = get_db()
    sites = list_sites(db)
    base = current_app.config.get("BASE_URL")
    rows = []
    for link in list_links(db):
        try:
            url = link_url(base, link)
        except CardError:
            url = None
        rows.append({"link": link, "url": url, "embed": embed_snippet(url) if url else None})
    return render_template("admin/survey_links.html", admin_nav=True, rows=rows, sites=sites,
                           site_names={s.id: s.name for s in sites}, sizes=list(CARD_SIZES), error=errors,
                           base_missing=not base), status


@bp.get("")
def links():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("")
def create():  # type: ignore[no-untyped-def]
    form = request.form
    user = current_user()
    try:
        link = create_link(get_db(), form.get("site", ""), form.get("channel", "web"), form.get("desk") or None,
                           form.get("label", ""), by=user.login if user else None)
    except LinkError as exc:
        return _page(str(exc), 400)
    flash(t(f"Lien {link.path} créé.", f"Link {link.path} created."), "ok")
    return redirect(url_for(".links"))


@bp.post("/<int:link_id>/revoke")
def revoke(link_id: int):  # type: ignore[no-untyped-def]
    if get_link(get_db(), link_id) is None:
        abort(404)
    link = revoke_link(get_db(), link_id)
    flash(t(f"Lien {link.path} révoqué : sa page dit qu'il n'est plus en service, ses réponses passées restent.",
            f"Link {link.path} revoked: its page says it is no longer in use; past answers stay."), "ok")
    return redirect(url_for(".links"))


def _url_of(link_id: int):  # type: ignore[no-untyped-def]
    link = get_link(get_db(), link_id)
    if link is None:
        abort(404)
    return link, link_url(current_app.config.get("BASE_URL"), link)


def _refused(exc: Exception, status: int):  # type: ignore[no-untyped-def]
    return Response(str(exc), status=status, mimetype="text/plain")


@bp.get("/<int:link_id>/card.pdf")
def card(link_id: int):  # type: ignore[no-untyped-def]
    size = request.args.get("size", "a5")
    try:
        link, url = _url_of(link_id)
        site = get_site(get_db(), link.site)
        data = card_pdf(url, site.name if site else link.site, link.desk, size)
    except CardError as exc:
        return _refused(exc, 400 if size not in CARD_SIZES else 503)
    except RendererMissing as exc:
        return _refused(exc, 503)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="ressenti-carte-{link.slug}-{size}.pdf"'})


@bp.get("/<int:link_id>/qr.svg")
def qr(link_id: int):  # type: ignore[no-untyped-def]
    try:
        link, url = _url_of(link_id)
        data = qr_svg(url)
    except CardError as exc:
        return _refused(exc, 503)
    except RendererMissing as exc:
        return _refused(exc, 503)
    return Response(data, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="ressenti-qr-{link.slug}.svg"'})
