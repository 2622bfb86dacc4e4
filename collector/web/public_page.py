"""Public results pages (issue 13): a site's or an organisation's figures and notes, no login, no JavaScript.

`/resultats/<site>` and `/resultats/org/<org>` are full pages; their `/embed`
variant is the same content alone, which a town's website may show in an
iframe (the only pages whose Content-Security-Policy allows any frame
ancestor). Figures come from collector/public_results.py under the public
minimum; opted-out or unknown sites and organisations answer the same 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, current_app, g, render_template, request

from collector.notes import notes_for
from collector.public_results import (
    PublicResults,
    last_full_month,
    month_start,
    months_back,
    org_row,
    public_results,
    public_site,
    public_sites,
)
from collector.publication import PUBLIC_MONTHS
from collector.registry import Site
from collector.web import get_db
from collector.web.i18n import gettext as _
from collector.web.i18n import month_name

bp = Blueprint("public", __name__, url_prefix="/resultats")
CACHE_SECONDS = 300  # the figures are per month: five minutes old is as good as live


@bp.errorhandler(400)
@bp.errorhandler(404)
def public_error(error):  # type: ignore[no-untyped-def]
    return render_template("public/error.html", code=error.code, message=error.description), error.code


def reference_month(today: date) -> date:
    """`?month=YYYY-MM` (a finished month), else the last finished one."""
    value = request.args.get("month")
    if not value:
        return last_full_month(today)
    try:
        month = month_start(value)
    except ValueError:
        abort(400, _("“%(value)s” is not a month (YYYY-MM).", value=value[:20]))
    if month > last_full_month(today):
        abort(400, _("The month %(value)s is not over yet: its results are not published.", value=value))
    if month.year < 2000:
        abort(400, _("The month %(value)s is too far back.", value=value))
    return month


def month_label(month: date) -> str:
    return f"{month_name(month.month)} {month.year}"


def _not_found(what: str) -> Any:
    abort(404, _("No public results for “%(what)s”: it does not exist or does not publish its results.",
                 what=what[:64]))


def _render(template: str, *, title: str, sites: list[Site], scopes: list[str], embed: bool, **extra: Any) -> Any:
    db = get_db()
    today = datetime.now(sites[0].zone).date()
    month = reference_month(today)
    min_count = current_app.config["PUBLIC_MIN_COUNT"]
    results: PublicResults = public_results(db, sites, month, min_count, PUBLIC_MONTHS)
    notes = notes_for(db, scopes, months_back(month, PUBLIC_MONTHS), month, limit=6)
    if embed:
        g.embeddable = True  # collector/web/access.py: frame-ancestors *, no X-Frame-Options
    response = current_app.make_response(render_template(
        template, title=title, results=results, notes=notes, min_count=min_count, months=PUBLIC_MONTHS,
        month_label=month_label, embed=embed, **extra))
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


def _site_page(site_id: str, embed: bool) -> Any:
    site = public_site(get_db(), site_id)
    if site is None:
        _not_found(site_id)
    assert site is not None
    return _render("public/results.html", title=site.name, sites=[site],
                   scopes=[f"site:{site.id}", f"org:{site.org}"], embed=embed, site=site, org=None, members=[])


def _org_page(org_id: str, embed: bool) -> Any:
    db = get_db()
    org = org_row(db, org_id)
    members = public_sites(db, org_id) if org and org["published"] else []
    if not members or org is None:
        _not_found(org_id)
    assert org is not None
    return _render("public/results.html", title=org["name"], sites=members, scopes=[f"org:{org_id}"],
                   embed=embed, site=None, org=org, members=members)


@bp.get("/<site_id>")
def site_page(site_id: str):  # type: ignore[no-untyped-def]
    return _site_page(site_id, embed=False)


@bp.get("/<site_id>/embed")
def site_embed(site_id: str):  # type: ignore[no-untyped-def]
    return _site_page(site_id, embed=True)


@bp.get("/org/<org_id>")
def org_page(org_id: str):  # type: ignore[no-untyped-def]
    return _org_page(org_id, embed=False)


@bp.get("/org/<org_id>/embed")
def org_embed(org_id: str):  # type: ignore[no-untyped-def]
    return _org_page(org_id, embed=True)


@bp.get("/<site_id>/badge.svg")
def site_badge(site_id: str):  # type: ignore[no-untyped-def]
    """A small SVG badge (the widget variant): the 12 months' satisfied share, or the words under the minimum.
    An image, so any site may show it with <img>; it links nowhere and runs nothing."""
    site = public_site(get_db(), site_id)
    if site is None:
        _not_found(site_id)
    assert site is not None
    today = datetime.now(site.zone).date()
    min_count = current_app.config["PUBLIC_MIN_COUNT"]
    results = public_results(get_db(), [site], reference_month(today), min_count, PUBLIC_MONTHS)
    response = current_app.make_response(render_template(
        "public/badge.svg", site=site, figure=results.year, figures=results.year.figures(), min_count=min_count,
        months=PUBLIC_MONTHS))
    response.mimetype = "image/svg+xml"
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response
