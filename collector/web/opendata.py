"""Open data (issue 13): the public figures per site and month as CSV and JSON, with a Table Schema.

Stable column names (collector/public_results.py COLUMNS), described by a
Frictionless Table Schema at /opendata/schema.json and a Data Package at
/opendata/datapackage.json; docs/public.md. Read by anyone, from any origin.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

from flask import Blueprint, Response, abort, current_app, jsonify, request, url_for

from collector.exports import csv_cell
from collector.public_results import (
    COLUMNS,
    last_full_month,
    month_start,
    months_back,
    open_data_rows,
    org_row,
    public_site,
    public_sites,
)
from collector.publication import PUBLIC_MONTHS
from collector.web import get_db
from collector.web.cors import allow_any_origin
from collector.web.scope import DEFAULT_ZONE

bp = Blueprint("opendata", __name__, url_prefix="/opendata")
bp.after_request(allow_any_origin)
MAX_MONTHS = 120

FIELDS: list[dict[str, Any]] = [
    {"name": "site_id", "type": "string", "description": "Identifiant stable du site / stable site id"},
    {"name": "site_name", "type": "string", "description": "Nom du site / site name"},
    {"name": "org_id", "type": "string", "description": "Identifiant de l'organisation / organisation id"},
    {"name": "org_name", "type": "string", "description": "Nom de l'organisation / organisation name"},
    {"name": "month", "type": "yearmonth", "description": "Mois civil local (AAAA-MM) / local calendar month"},
    {"name": "enough_answers", "type": "boolean",
     "description": "Assez d'avis pour publier (au moins min_count) ; sinon les chiffres sont vides"
                    " / enough answers to publish; otherwise the figures are empty"},
    {"name": "answers", "type": "integer", "constraints": {"minimum": 0},
     "description": "Avis retenus (pressions en rafale écartées) / answers kept (rapid repeats left out)"},
    {"name": "satisfied", "type": "integer", "constraints": {"minimum": 0}, "description": "Avis satisfaits"},
    {"name": "neutral", "type": "integer", "constraints": {"minimum": 0},
     "description": "Avis neutres (échelles à 3 ou 5 visages) / neutral answers (3- or 5-face scales)"},
    {"name": "dissatisfied", "type": "integer", "constraints": {"minimum": 0}, "description": "Avis insatisfaits"},
    {"name": "satisfaction_rate", "type": "number", "constraints": {"minimum": 0, "maximum": 1},
     "description": "Part de satisfaits, 0 à 1 / satisfied share"},
    {"name": "net_satisfaction", "type": "number", "constraints": {"minimum": -1, "maximum": 1},
     "description": "Satisfaits moins insatisfaits, sur le total, -1 à 1 / net satisfaction"},
    {"name": "scales", "type": "string",
     "description": "Nombre de visages des bornes, séparés par des espaces (ex. « 4 » ou « 4 5 ») / scales"},
    {"name": "min_count", "type": "integer", "description": "Minimum d'avis pour publier / publication minimum"},
]
assert tuple(f["name"] for f in FIELDS) == COLUMNS, "the schema describes every column, in order"
SCHEMA = {"fields": FIELDS, "primaryKey": ["site_id", "month"], "missingValues": [""]}


@bp.errorhandler(400)
@bp.errorhandler(404)
def json_error(error):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.description}), error.code


def _month_arg(name: str, default: date) -> date:
    value = request.args.get(name)
    if not value:
        return default
    try:
        return month_start(value)
    except ValueError as exc:
        abort(400, f"{name}: {exc}")


def _rows() -> list[dict[str, Any]]:
    db = get_db()
    today = datetime.now(DEFAULT_ZONE).date()
    newest = last_full_month(today)
    last = _month_arg("to", newest)
    first = _month_arg("from", months_back(last, PUBLIC_MONTHS))
    if last > newest:
        abort(400, f"to={last:%Y-%m}: that month is not over yet; the newest published month is {newest:%Y-%m}")
    if first > last:
        abort(400, "from is after to")
    if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
        abort(400, f"at most {MAX_MONTHS} months at once")
    site_id, org_id = request.args.get("site"), request.args.get("org")
    if site_id:
        site = public_site(db, site_id)
        if site is None:
            abort(404, f"no public results for site {site_id[:64]!r}: it does not exist or does not publish them")
        sites = [site]
    elif org_id:
        org = org_row(db, org_id)
        sites = public_sites(db, org_id) if org and org["published"] else []
        if not sites:
            abort(404, f"no public results for organisation {org_id[:64]!r}: it does not exist or does not"
                       " publish them")
    else:
        sites = public_sites(db)
    return open_data_rows(db, sites, first, last, current_app.config["PUBLIC_MIN_COUNT"])


def _cached(response: Response) -> Response:
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/resultats.csv")
def figures_csv():  # type: ignore[no-untyped-def]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in _rows():
        # Booleans as the schema says; a name that a spreadsheet would run as a formula is quoted.
        writer.writerow({k: ("true" if v is True else "false" if v is False else csv_cell(v))
                         for k, v in row.items()})
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = "inline; filename=resultats.csv"
    return _cached(response)


@bp.get("/resultats.json")
def figures_json():  # type: ignore[no-untyped-def]
    return _cached(jsonify({"schema": url_for(".schema", _external=True), "data": _rows()}))


@bp.get("/schema.json")
def schema():  # type: ignore[no-untyped-def]
    return _cached(jsonify(SCHEMA))


@bp.get("/datapackage.json")
def datapackage():  # type: ignore[no-untyped-def]
    return _cached(jsonify({
        "name": "ressenti-resultats", "title": "Résultats de satisfaction de l'accueil / reception satisfaction",
        "licenses": [{"name": current_app.config["OPEN_DATA_LICENCE"]}],
        "resources": [{"name": "resultats", "path": url_for(".figures_csv", _external=True), "format": "csv",
                       "mediatype": "text/csv", "encoding": "utf-8", "schema": SCHEMA}],
    }))
