"""Each user's alert settings: their e-mail address, alerts on or off, and the kinds they receive (issue 12)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from collector.alerts.subscriptions import (
    KINDS,
    SubscriptionError,
    default_on,
    get_email,
    set_email,
    set_subscriptions,
    subscriptions,
)
from collector.users import Role
from collector.web import get_db
from collector.web.access import current_user, require_role
from collector.web.i18n import t
from collector.web.scope import visible_sites

bp = Blueprint("alert_settings", __name__, url_prefix="/alerts/settings")
bp.before_request(require_role(Role.VIEWER))


@bp.get("")
def settings():  # type: ignore[no-untyped-def]
    db, user = get_db(), current_user()
    assert user is not None  # require_role
    everything, kinds = subscriptions(db, user)
    return render_template("alerts/settings.html", email=get_email(db, user.id) or "", everything=everything,
                           kinds=kinds, names=KINDS, default_on=default_on(user),
                           sites=visible_sites(db, user), sees_everything=user.sees_everything())


@bp.post("")
def save():  # type: ignore[no-untyped-def]
    db, user = get_db(), current_user()
    assert user is not None
    form = request.form
    try:
        email = set_email(db, user.id, form.get("email", "")[:1000])
        set_subscriptions(db, user, form.get("everything") == "on", {k for k in form.getlist("kind") if k in KINDS})
    except SubscriptionError as exc:
        flash(t(exc.fr, exc.en), "error")
        return redirect(url_for(".settings"))
    if email is None:
        flash(t("Enregistré. Sans adresse e-mail, vous ne recevez aucune alerte.",
                "Saved. Without an e-mail address you receive no alerts."), "ok")
    else:
        flash(t("Vos réglages d'alertes sont enregistrés.", "Your alert settings are saved."), "ok")
    return redirect(url_for(".settings"))
