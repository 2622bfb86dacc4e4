"""Survey links for managers: the JSON API /api/v1/survey-links and the page /admin/survey.

The API takes an admin bearer token, or the session of a manager (or admin) who sees the
site; with a session, a POST must carry a JSON body (no cross-site form can send one, and
the session cookie is SameSite=Lax). The page lists, creates and revokes a site's links,
shows each short link with its printable QR cards (A5, A6, sticker PDF), the QR code as SVG and
a button to paste on the town's website, turns the optional comment on or off and lists the
comments. Every route about a link checks the link's site against the caller's scope: a manager
of another site gets a 404, as if the link did not exist.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, g, jsonify, redirect, render_template, request, url_for

from collector.registry import get_site
from collector.reports_pdf.render import RendererMissing
from collector.survey.cards import CARD_SIZES, CardError, card_pdf, embed_snippet, link_url, qr_svg
from collector.survey.comments import comments_for
from collector.survey.form import comments_enabled, set_comments
from collector.survey.links import Link, LinkError, create_link, get_link, list_links, revoke_link
from collector.tokens import TokenError, TokenKind, verify_token
from collector.users import Role
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.auth import bearer
from collector.web.scope import visible_sites
from ressenti.protocol import parse_json

api = Blueprint("api_survey", __name__, url_prefix="/api/v1")
bp = Blueprint("survey_admin", __name__, url_prefix="/admin/survey")
bp.before_request(require_role(Role.MANAGER))


def short_url(link: Link) -> str:
    base = (current_app.config.get("BASE_URL") or request.host_url).rstrip("/")
    return f"{base}{link.path}"


def _json(link: Link) -> dict[str, Any]:
    return {**link.to_json(), "url": short_url(link)}


def _error(status: int, message: str):  # type: ignore[no-untyped-def]
    return jsonify({"error": message}), status


@api.before_request
def who() -> Any:
    """An admin token, or a manager's session; g.survey_sites is what the caller may touch (None: all)."""
    if bearer() is not None:
        try:
            verify_token(get_db(), bearer(), TokenKind.ADMIN)
        except TokenError as exc:
            return _error(401, str(exc))
        g.survey_sites = None
        return None
    user = current_user()
    if user is None:
        return _error(401, "an admin bearer token or a manager's session is required")
    if not user.at_least(Role.MANAGER):
        return _error(403, "managers and admins only")
    if request.method == "POST" and not request.is_json:
        return _error(415, "send a JSON body (Content-Type: application/json)")
    g.survey_sites = {s.id for s in visible_sites(get_db(), user)}
    return None


def _may(site: str) -> bool:
    return g.survey_sites is None or site in g.survey_sites


@api.get("/survey-links")
def links():  # type: ignore[no-untyped-def]
    site = request.args.get("site")
    if site is not None and not _may(site):
        return _error(403, f"site {site[:60]!r} is not in your scope")
    return jsonify([_json(link) for link in list_links(get_db(), site) if _may(link.site)])


@api.post("/survey-links")
def create():  # type: ignore[no-untyped-def]
    try:
        body = parse_json(request.get_data(cache=True))
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object")
    site = body.get("site")
    if not isinstance(site, str) or get_site(get_db(), site) is None:
        return _error(400, f"site {str(site)[:60]!r} does not exist")
    if not _may(site):
        return _error(403, f"site {site!r} is not in your scope")
    user = current_user()
    try:
        link = create_link(get_db(), site, body.get("channel", "web"), body.get("desk"), body.get("label", ""),
                           by=user.login if user is not None and g.survey_sites is not None else "api")
    except LinkError as exc:
        return _error(400, str(exc))
    return jsonify(_json(link)), 201


@api.delete("/survey-links/<int:link_id>")
def revoke(link_id: int):  # type: ignore[no-untyped-def]
    link = get_link(get_db(), link_id)
    if link is None or not _may(link.site):
        return _error(404, f"no survey link {link_id}")
    return jsonify(_json(revoke_link(get_db(), link_id)))


def _site_or_404(site_id: str | None):  # type: ignore[no-untyped-def]
    user = current_user()
    site = get_site(get_db(), site_id) if site_id else None
    if site is None or user is None or not user.may_see(site):
        abort(404)
    return site


@bp.get("")
def page():  # type: ignore[no-untyped-def]
    user = current_user()
    assert user is not None
    sites = visible_sites(get_db(), user)
    site = _site_or_404(request.args.get("site")) if request.args.get("site") else (sites[0] if sites else None)
    base = current_app.config.get("BASE_URL")
    rows = []
    for link in list_links(get_db(), site.id) if site else []:
        try:
            url = link_url(base, link)
        except CardError:
            url = None  # no public address set: the page says what to set instead of offering cards
        rows.append({"link": link, "embed": embed_snippet(url) if url and link.active else None,
                     "cards": bool(url) and link.active})
    return render_template("survey/admin.html", sites=sites, site=site, rows=rows, short_url=short_url,
                           sizes=list(CARD_SIZES), base_missing=not base,
                           comments=comments_for(get_db(), [site.id]) if site else [],
                           comments_on=comments_enabled(get_db(), site.id) if site else False)


@bp.post("/links")
def create_page():  # type: ignore[no-untyped-def]
    site = _site_or_404(request.form.get("site"))
    user = current_user()
    try:
        create_link(get_db(), site.id, request.form.get("channel", "web"), request.form.get("desk"),
                    request.form.get("label", ""), by=user.login if user else None)
    except LinkError as exc:
        abort(400, str(exc))
    return redirect(url_for(".page", site=site.id))


def _link_or_404(link_id: int) -> tuple[Link, Any]:
    """The link and its site, or a 404 when it does not exist or its site is outside the caller's scope."""
    link = get_link(get_db(), link_id)
    if link is None:
        abort(404)
    return link, _site_or_404(link.site)


@bp.post("/links/<int:link_id>/revoke")
def revoke_page(link_id: int):  # type: ignore[no-untyped-def]
    _, site = _link_or_404(link_id)
    revoke_link(get_db(), link_id)
    return redirect(url_for(".page", site=site.id))


@bp.post("/comments")
def comments_switch():  # type: ignore[no-untyped-def]
    site = _site_or_404(request.form.get("site"))
    set_comments(get_db(), site.id, request.form.get("enabled") == "1")
    return redirect(url_for(".page", site=site.id))


def _refused(exc: Exception, status: int) -> Response:
    return Response(str(exc), status=status, mimetype="text/plain")


@bp.get("/links/<int:link_id>/card.pdf")
def card(link_id: int):  # type: ignore[no-untyped-def]
    link, site = _link_or_404(link_id)
    size = request.args.get("size", "a5")
    try:
        data = card_pdf(link_url(current_app.config.get("BASE_URL"), link), site.name, link.desk, size)
    except CardError as exc:
        return _refused(exc, 400 if size not in CARD_SIZES else 503)
    except RendererMissing as exc:
        return _refused(exc, 503)
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="ressenti-carte-{link.slug}-{size}.pdf"'})


@bp.get("/links/<int:link_id>/qr.svg")
def qr(link_id: int):  # type: ignore[no-untyped-def]
    link, _ = _link_or_404(link_id)
    try:
        data = qr_svg(link_url(current_app.config.get("BASE_URL"), link))
    except (CardError, RendererMissing) as exc:
        return _refused(exc, 503)
    return Response(data, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="ressenti-qr-{link.slug}.svg"'})
