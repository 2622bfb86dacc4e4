"""Admin page for alert webhooks: add one for an organisation, a site or everything (its secret shown once), toggle."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.alerts.webhook import WebhookError, add_webhook, list_webhooks, set_webhook_enabled
from collector.registry import list_sites
from collector.users import Role
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.i18n import t
from ressenti.protocol import utc_now

bp = Blueprint("admin_alert_webhooks", __name__, url_prefix="/admin/alert-webhooks")
bp.before_request(require_role(Role.ADMIN))


def _page(new_secret: str | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    db = get_db()
    sites = list_sites(db)
    return render_template("admin/alert_webhooks.html", admin_nav=True, webhooks=list_webhooks(db), sites=sites,
                           orgs=sorted({s.org for s in sites}), new_secret=new_secret), status


@bp.get("")
def webhooks():  # type: ignore[no-untyped-def]
    return _page()


@bp.post("")
def add():  # type: ignore[no-untyped-def]
    form = request.form
    user = current_user()
    label = form.get("label", "").strip()[:200] or f"(par {user.login if user else '?'})"
    try:
        _, secret = add_webhook(get_db(), form.get("url", "")[:2100], form.get("scope", ""), label=label,
                                now=utc_now())
    except WebhookError as exc:
        flash(t(f"Webhook refusé : {exc}", f"Webhook refused: {exc}"), "error")
        return redirect(url_for(".webhooks"))
    # Shown once, in this response only: never in a flash message (it would sit in the cookie).
    return _page(secret, 201)


@bp.post("/<int:webhook_id>/enabled")
def toggle(webhook_id: int):  # type: ignore[no-untyped-def]
    db = get_db()
    hook = next((w for w in list_webhooks(db) if w["id"] == webhook_id), None)
    if hook is None:
        abort(404)
    set_webhook_enabled(db, webhook_id, not hook["enabled"])
    flash(t("Webhook réactivé." if not hook["enabled"] else "Webhook désactivé : il ne reçoit plus rien.",
            "Webhook enabled." if not hook["enabled"] else "Webhook disabled: it receives nothing more."), "ok")
    return redirect(url_for(".webhooks"))
