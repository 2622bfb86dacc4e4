"""Admin page for alert rules: what applies by default, the rules that override it, add, turn off, delete."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.alerts.rules import ALL, KIND_LABELS, PARAMS, AlertRuleError, Kind
from collector.alerts.store import create_rule, delete_rule, get_rule, list_rules, update_rule
from collector.registry import list_sites
from collector.users import Role
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.i18n import t

bp = Blueprint("admin_alerts", __name__, url_prefix="/admin/alerts")
bp.before_request(require_role(Role.ADMIN))


def _page(errors: dict[str, str] | None = None, failed_kind: str | None = None, form: Any = None,
          status: int = 200):  # type: ignore[no-untyped-def]
    db = get_db()
    sites = list_sites(db)
    site_names = {f"site:{s.id}": s.name for s in sites}
    scopes = [(ALL, t("Tous les sites", "Every site"))]
    scopes += [(f"org:{org}", f"{t('Organisation', 'Organisation')} {org}") for org in sorted({s.org for s in sites})]
    scopes += [(f"site:{s.id}", s.name) for s in sites]
    return render_template("admin/alerts.html", admin_nav=True, rules=list_rules(db), kinds=list(Kind),
                           params=PARAMS, labels=KIND_LABELS, scopes=scopes, site_names=site_names,
                           errors=errors or {}, failed_kind=failed_kind, form=form), status


@bp.get("")
def rules():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("")
def create():  # type: ignore[no-untyped-def]
    form = request.form
    kind = form.get("kind", "")
    known = {k.value: k for k in Kind}
    params = {name: form[name] for name in PARAMS[known[kind]] if form.get(name, "") != ""} if kind in known else {}
    user = current_user()
    try:
        rule = create_rule(get_db(), kind, form.get("scope", ""), params, enabled=form.get("enabled", "1") == "1",
                           created_by=user.login if user else None)
    except AlertRuleError as exc:
        if exc.field == "kind":  # no form of this page sends it wrong: say it at the top
            flash(t(exc.fr, exc.en), "error")
        return _page({exc.field: t(exc.fr, exc.en)}, kind, form, 400)
    flash(t(f"Règle ajoutée ({rule['scope']}).", f"Rule added ({rule['scope']})."), "ok")
    return redirect(url_for(".rules"))


@bp.post("/<int:rule_id>/enabled")
def toggle(rule_id: int):  # type: ignore[no-untyped-def]
    db = get_db()
    rule = get_rule(db, rule_id)
    if rule is None:
        abort(404)
    update_rule(db, rule_id, {"enabled": not rule["enabled"]})
    flash(t("Règle réactivée." if not rule["enabled"] else "Règle désactivée : ce type d'alerte est coupé pour sa"
            " portée.", "Rule turned on." if not rule["enabled"] else "Rule turned off: that kind of alert is off"
            " for its scope."), "ok")
    return redirect(url_for(".rules"))


@bp.post("/<int:rule_id>/delete")
def delete(rule_id: int):  # type: ignore[no-untyped-def]
    if not delete_rule(get_db(), rule_id):
        abort(404)
    flash(t("Règle supprimée : la règle plus large ou les réglages par défaut s'appliquent.",
            "Rule deleted: the broader rule or the defaults apply."), "ok")
    return redirect(url_for(".rules"))
