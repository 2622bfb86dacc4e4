"""The alerts page: open and past alerts of the user's sites, acknowledgement and a comment thread per alert.

Viewers read; managers and admins acknowledge and comment, and see the messages about
their sites that delivery could not send yet (issue 12: failures are visible). An alert
of a site the user's scope does not show is answered 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.alerts.delivery import delivery_failures
from collector.alerts.rules import KIND_LABELS, AlertRuleError, Kind
from collector.alerts.store import acknowledge, add_comment, alerts_of_sites, comments, get_alert
from collector.users import Role
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.i18n import t
from collector.web.scope import visible_sites

bp = Blueprint("alerts_page", __name__, url_prefix="/alerts")
bp.before_request(require_role(Role.VIEWER))


def _visible_alert(alert_id: int) -> dict[str, Any]:
    db = get_db()
    user = current_user()
    alert = get_alert(db, alert_id)
    if user is None or alert is None or alert["site"] not in {s.id for s in visible_sites(db, user)}:
        abort(404)
    return alert


@bp.get("")
def alerts():  # type: ignore[no-untyped-def]
    db = get_db()
    user = current_user()
    assert user is not None
    sites = {s.id: s for s in visible_sites(db, user)}
    current = alerts_of_sites(db, set(sites), state="open")
    past = alerts_of_sites(db, set(sites), state="resolved", limit=100)
    thread = comments(db, [a["id"] for a in current + past])
    may_act = user.at_least(Role.MANAGER)
    failures = [_failure_row(f, sites) for f in delivery_failures(db, site_ids=set(sites), limit=FAILURES_SHOWN)] \
        if may_act else []
    return render_template("alerts/alerts.html", current=current, past=past, sites=sites, comments=thread,
                           labels={k.value: v for k, v in KIND_LABELS.items()}, Kind=Kind,
                           may_act=may_act, failures=failures)


FAILURES_SHOWN = 20


def _failure_row(failure: dict[str, Any], sites: dict[str, Any]) -> dict[str, Any]:
    """What the page says of an undelivered message: only the user's sites, and a webhook by its label or host
    (its URL may carry a token, as Slack's and Teams' do)."""
    if failure["channel"] == "email":
        recipient = failure["login"] or "?"
    else:
        recipient = failure["webhook_label"] or urlsplit(failure["webhook_url"] or "").hostname or "webhook"
    return {**failure, "recipient": recipient,
            "site_names": [sites[s].name for s in failure["sites"] if s in sites]}


@bp.post("/<int:alert_id>/ack")
def ack(alert_id: int):  # type: ignore[no-untyped-def]
    require_role(Role.MANAGER)()
    alert = _visible_alert(alert_id)
    user = current_user()
    assert user is not None
    if acknowledge(get_db(), alert["id"], user.login):
        flash(t("Alerte prise en compte.", "Alert acknowledged."), "ok")
    else:
        flash(t("Cette alerte était déjà prise en compte.", "This alert was already acknowledged."), "ok")
    return redirect(url_for(".alerts", _anchor=f"alert-{alert_id}"))


@bp.post("/<int:alert_id>/comments")
def comment(alert_id: int):  # type: ignore[no-untyped-def]
    require_role(Role.MANAGER)()
    alert = _visible_alert(alert_id)
    user = current_user()
    assert user is not None
    try:
        add_comment(get_db(), alert["id"], user.id, request.form.get("text", ""))
    except AlertRuleError as exc:
        flash(t(f"Commentaire refusé : {exc.fr}.", f"Comment refused: {exc.en}."), "error")
    return redirect(url_for(".alerts", _anchor=f"alert-{alert_id}"))
