"""JSON API v1 for alert rules (admin bearer token): list, create, change, delete (docs/alerts.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, g, jsonify, request

from collector.alerts.rules import PARAMS, AlertRuleError, defaults
from collector.alerts.store import create_rule, delete_rule, get_rule, list_rules, update_rule
from collector.tokens import TokenKind
from collector.web import get_db
from collector.web.auth import require_token

bp = Blueprint("api_alerts", __name__, url_prefix="/api/v1/alert-rules")


@bp.before_request
@require_token(TokenKind.ADMIN)
def admin_only() -> None:
    """Every route here needs an admin token."""


@bp.errorhandler(400)
@bp.errorhandler(404)
def json_error(error):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.description}), error.code


@bp.errorhandler(AlertRuleError)
def rule_error(exc: AlertRuleError):  # type: ignore[no-untyped-def]
    return jsonify({"error": exc.en, "error_fr": exc.fr, "field": exc.field}), 400


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "the body must be a JSON object")
    return body


@bp.get("")
def rules():  # type: ignore[no-untyped-def]
    """The rules, and each kind's defaults (what applies where no rule does)."""
    return jsonify({"rules": list_rules(get_db()), "defaults": {kind.value: defaults(kind) for kind in PARAMS}})


@bp.post("")
def create():  # type: ignore[no-untyped-def]
    body = _body()
    if "kind" not in body or "scope" not in body:
        raise AlertRuleError("kind" if "kind" not in body else "scope", "champ obligatoire manquant",
                             "missing required field")
    rule = create_rule(get_db(), body["kind"], body["scope"], body.get("params"), enabled=body.get("enabled", True),
                       created_by=f"token {g.token.id}")
    return jsonify(rule), 201


@bp.get("/<int:rule_id>")
def show(rule_id: int):  # type: ignore[no-untyped-def]
    rule = get_rule(get_db(), rule_id)
    if rule is None:
        abort(404, f"no alert rule {rule_id}")
    return jsonify(rule)


@bp.patch("/<int:rule_id>")
def change(rule_id: int):  # type: ignore[no-untyped-def]
    rule = update_rule(get_db(), rule_id, _body())
    if rule is None:
        abort(404, f"no alert rule {rule_id}")
    return jsonify(rule)


@bp.delete("/<int:rule_id>")
def delete(rule_id: int):  # type: ignore[no-untyped-def]
    if not delete_rule(get_db(), rule_id):
        abort(404, f"no alert rule {rule_id}")
    return jsonify({"id": rule_id, "deleted": True})
