"""JSON API v1: sites and their summaries."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, jsonify, request

from collector.queries import site_summary
from collector.registry import get_site, list_sites
from collector.web import get_db

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(400)
@bp.errorhandler(404)
def json_error(error):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.description}), error.code


@bp.get("/sites")
def sites():  # type: ignore[no-untyped-def]
    return jsonify([
        {"id": s.id, "name": s.name, "org": s.org, "tz": s.tz, "scale": s.scale}
        for s in list_sites(get_db())
    ])


def _date_arg(name: str) -> date | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name}={value!r} is not an ISO date (YYYY-MM-DD)")


@bp.get("/sites/<site_id>/summary")
def summary(site_id: str):  # type: ignore[no-untyped-def]
    db = get_db()
    site = get_site(db, site_id)
    if site is None:
        abort(404, f"no site {site_id!r}")
    start, end = _date_arg("from"), _date_arg("to")
    if start and end and end < start:
        abort(400, "to is before from")
    if end and not start:
        start = end
    return jsonify(site_summary(db, site, start, end or start))
