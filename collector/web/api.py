"""JSON API v1, read side: sites, summaries and series (public figures, under the publication rules).

Without a login or an admin token: summaries and per-day series, every
figure under the minimum count withheld with its reason. A logged-in user
who may see the site, or an admin token, also gets the unmasked summary (the
dashboard's headline) and per-hour series (hours under the minimum withheld).
See collector/publication.py and docs/dashboard.md#publication. Sites that opted
out of publication (or whose organisation did) are absent from `/sites` and
answer 404 to the public; public answers may be read from any origin (CORS).
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, jsonify, request

from collector.public_results import is_published, published_site_ids
from collector.publication import PUBLIC_UNITS, UNITS, publish_summary
from collector.queries import HOURS, site_summary, today
from collector.registry import Site, get_site, list_sites
from collector.series import site_series
from collector.tokens import TokenError, TokenKind, verify_token
from collector.web import get_db
from collector.web.access import current_user
from collector.web.auth import bearer
from collector.web.cors import allow_any_origin

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(400)
@bp.errorhandler(401)
@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(413)
def json_error(error):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.description}), error.code


def site_json(s: Site) -> dict:
    return {"id": s.id, "name": s.name, "org": s.org, "tz": s.tz, "scale": s.scale}


def _admin_token() -> bool:
    """An admin token came with the request (any other credential, or none, is the public)."""
    secret = bearer()
    if secret is None:
        return False
    try:
        verify_token(get_db(), secret, TokenKind.ADMIN)
    except TokenError:
        return False
    return True


@bp.get("/sites")
def sites():  # type: ignore[no-untyped-def]
    """The sites that publish their results (issue 13); an admin token lists every site, with its flag."""
    published = published_site_ids(get_db())
    listed = list_sites(get_db(), request.args.get("org"))
    if _admin_token():
        response = jsonify([{**site_json(s), "published": s.id in published} for s in listed])
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Authorization")
        return response
    response = jsonify([site_json(s) for s in listed if s.id in published])
    response.vary.add("Authorization")
    return allow_any_origin(response)


def _date_arg(name: str) -> date | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name}={value!r} is not an ISO date (YYYY-MM-DD)")


def _site_and_period(site_id: str) -> tuple[Site, date, date, str]:
    site = get_site(get_db(), site_id)
    if site is None:
        abort(404, f"no site {site_id!r}")
    start, end = _date_arg("from"), _date_arg("to")
    start = start or end or today(site)
    end = end or start
    if end < start:
        abort(400, "to is before from")
    if (end - start).days > 3660:
        abort(400, "a period is at most ten years")
    hours = request.args.get("hours", "all")
    if hours not in HOURS:
        abort(400, f"hours must be one of {', '.join(HOURS)}")
    return site, start, end, hours


def _sees_detail(site: Site) -> bool:
    """An admin token, or a logged-in user who may see this site: the dashboard's own view of it."""
    secret = bearer()
    if secret is not None:
        try:
            verify_token(get_db(), secret, TokenKind.ADMIN)
        except TokenError as exc:
            abort(401, str(exc))
        return True
    user = current_user()
    return user is not None and user.may_see(site)


def _answer(body: dict, detail: bool) -> Response:
    """The figures' answer: one a cache may keep for everyone, or other origins read, only if it is the
    public one."""
    response = jsonify(body)
    response.vary.update(("Authorization", "Cookie"))
    if detail:
        response.headers["Cache-Control"] = "private, no-store"
        return response
    return allow_any_origin(response)


def _public_or_detail(site: Site) -> bool:
    """Detail for who may see it; else the public answer, which an opted-out site does not give."""
    detail = _sees_detail(site)
    if not detail and not is_published(get_db(), site):
        abort(404, f"no site {site.id!r}, or it does not publish its results")
    return detail


@bp.get("/sites/<site_id>/summary")
def summary(site_id: str):  # type: ignore[no-untyped-def]
    site, start, end, hours = _site_and_period(site_id)
    detail = _public_or_detail(site)
    figures = site_summary(get_db(), site, start, end, hours=hours)
    return _answer(figures if detail else publish_summary(figures, current_app.config["MIN_CELL"]), detail)


@bp.get("/sites/<site_id>/series")
def series(site_id: str):  # type: ignore[no-untyped-def]
    site, start, end, hours = _site_and_period(site_id)
    filtered = request.args.get("filtered") in ("1", "true", "yes")
    unit = request.args.get("unit", "day")
    if unit not in UNITS:
        abort(400, f"unit must be one of {', '.join(UNITS)}")
    detail = _public_or_detail(site)
    if unit not in PUBLIC_UNITS and not detail:
        abort(403, "per-hour series are for logged-in users of this site and admin tokens;"
                   " public series are per day (unit=day)")
    min_cell = current_app.config["MIN_CELL"]
    return _answer({"site": site.id, "scale": site.scale, "from": start.isoformat(), "to": end.isoformat(),
                    "hours": hours, "filtered": filtered, "unit": unit, "min_count": min_cell,
                    "series": site_series(get_db(), site, start, end, unit=unit, hours=hours, filtered=filtered,
                                          min_cell=min_cell)}, detail)
