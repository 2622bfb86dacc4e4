"""JSON API v1, read side: sites, summaries and hourly series (public figures)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, jsonify, request

from collector.queries import HOURS, site_series, site_summary, today
from collector.registry import Site, get_site, list_sites
from collector.web import get_db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(400)
@bp.errorhandler(404)
@bp.errorhandler(413)
def json_error(error):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.description}), error.code


def site_json(s: Site) -> dict:
    return {"id": s.id, "name": s.name, "org": s.org, "tz": s.tz, "scale": s.scale}


@bp.get("/sites")
def sites():  # type: ignore[no-untyped-def]
    return jsonify([site_json(s) for s in list_sites(get_db(), request.args.get("org"))])


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


@bp.get("/sites/<site_id>/summary")
def summary(site_id: str):  # type: ignore[no-untyped-def]
    site, start, end, hours = _site_and_period(site_id)
    return jsonify(site_summary(get_db(), site, start, end, hours=hours))


@bp.get("/sites/<site_id>/series")
def series(site_id: str):  # type: ignore[no-untyped-def]
    site, start, end, hours = _site_and_period(site_id)
    filtered = request.args.get("filtered") in ("1", "true", "yes")
    return jsonify({"site": site.id, "scale": site.scale, "from": start.isoformat(), "to": end.isoformat(),
                    "hours": hours, "filtered": filtered,
                    "series": site_series(get_db(), site, start, end, hours=hours, filtered=filtered)})
