"""Admin page for kiosk settings (question, scale, follow-up, response interval), pushed as retained config."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from collector.config_push import DEFAULT_FOLLOWUP, PushError, build_followup, current_settings, push_settings
from collector.registry import get_site, list_kiosks, list_sites, update_site
from collector.users import Role
from collector.web import get_db, live_hub
from collector.web.access import current_user, require_role
from collector.web.fleet_page import fleet_rows
from collector.web.i18n import t
from ressenti.errors import BadConfig, BadFollowup
from ressenti.protocol import FOLLOWUP_MAX_CHOICES, KioskSettings

bp = Blueprint("admin_config", __name__, url_prefix="/admin/config")
bp.before_request(require_role(Role.ADMIN))
MAX_CHOICES = FOLLOWUP_MAX_CHOICES


def _kiosks_of(db: Any, site_id: str) -> list[str]:
    return [k["id"] for k in list_kiosks(db, site_id) if not k["channel"] and not k["retired"]]


def _settings_from_form(base: KioskSettings, scale: int) -> KioskSettings:
    form = request.form
    question = {"fr": form.get("question_fr", "").strip()}
    if form.get("question_en", "").strip():
        question["en"] = form["question_en"].strip()
    if not question["fr"]:
        raise BadConfig(t("La question doit avoir un texte en français.", "The question needs a French text."))
    interval = form.get("response_interval_s", type=float)
    if interval is None or not 0 <= interval <= 3600:
        raise BadConfig(t("L'intervalle entre deux réponses est de 0 à 3600 secondes.",
                          "The response interval is 0 to 3600 seconds."))
    followup = None
    if form.get("followup_enabled"):
        choices = [(form.get(f"choice_{i}_id", "").strip(), form.get(f"choice_{i}_fr", ""),
                    form.get(f"choice_{i}_en", "")) for i in range(MAX_CHOICES)]
        followup = build_followup(
            question_fr=form.get("followup_fr", ""), question_en=form.get("followup_en", ""),
            when_rating_at_most=form.get("when_rating_at_most", 2, type=int), scale=scale,
            choices=[c for c in choices if c[0]], timeout_s=form.get("followup_timeout_s", 15.0, type=float))
    return replace(base, scale=scale, question=question, response_interval_s=interval, followup=followup)


@bp.get("")
def config():  # type: ignore[no-untyped-def]
    db = get_db()
    sites = list_sites(db)
    site = get_site(db, request.args.get("site", "")) if request.args.get("site") else (sites[0] if sites else None)
    if site is None:
        return render_template("admin/config.html", admin_nav=True, sites=sites, site=None)
    kiosks = _kiosks_of(db, site.id)
    pushed_settings = (current_settings(db, k) for k in kiosks)
    settings = next((s for s in pushed_settings if s), None) or KioskSettings(scale=site.scale)
    followup = settings.followup or DEFAULT_FOLLOWUP
    names = {k["id"]: k["name"] or k["id"] for k in list_kiosks(db, site.id)}
    return render_template("admin/config.html", admin_nav=True, sites=sites, site=site, kiosks=kiosks,
                           kiosk_names=names,
                           settings=settings, followup=followup, followup_on=settings.followup is not None,
                           max_choices=MAX_CHOICES, has_broker=live_hub().client is not None,
                           rows=fleet_rows(db, {site.id}))


@bp.post("")
def push():  # type: ignore[no-untyped-def]
    db = get_db()
    site = get_site(db, request.form.get("site", ""))
    if site is None:
        abort(404)
    target = request.form.get("target", "site")
    kiosks = _kiosks_of(db, site.id)
    if target != "site":
        if target not in kiosks:
            abort(404)
        kiosks = [target]
    scale = request.form.get("scale", site.scale, type=int) if target == "site" else site.scale
    base = current_settings(db, kiosks[0]) if kiosks else None
    try:
        settings = _settings_from_form(base or KioskSettings(), scale)
        if not kiosks:
            raise BadConfig(t("Ce site n'a aucune borne active.", "This site has no active kiosk."))
        user = current_user()
        revs = push_settings(db, live_hub().client, [(k, site.id) for k in kiosks], settings,
                             user.login if user else "?")
    except BadFollowup as exc:
        flash(t("Question complémentaire refusée, rien n'a été envoyé : ",
                "Follow-up question refused, nothing was pushed: ") + str(exc), "error")
        return redirect(url_for(".config", site=site.id))
    except (BadConfig, PushError) as exc:
        flash(str(exc), "error")
        return redirect(url_for(".config", site=site.id))
    if target == "site" and scale != site.scale:
        update_site(db, site.id, scale=scale)
    flash(t(f"Réglages envoyés à {len(revs)} borne(s) (réglages n° {max(revs.values())}).",
            f"Settings sent to {len(revs)} kiosk(s) (settings no. {max(revs.values())})."), "ok")
    return redirect(url_for(".config", site=site.id))
