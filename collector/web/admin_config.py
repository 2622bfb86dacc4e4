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
from ressenti.i18n import WORDINGS
from ressenti.protocol import (
    FOLLOWUP_LABEL_CHARS,
    FOLLOWUP_MAX_CHOICES,
    FOLLOWUP_MIN_CHOICES,
    SCALES,
    KioskSettings,
    is_slug,
)

bp = Blueprint("admin_config", __name__, url_prefix="/admin/config")
bp.before_request(require_role(Role.ADMIN))
MAX_CHOICES = FOLLOWUP_MAX_CHOICES
QUESTION_CHARS = 120


def _number(name: str, low: float, high: float) -> float | None:
    """A form number within [low, high], or None (empty, not a number, NaN, out of range)."""
    try:
        value = float(request.form.get(name, "").replace(",", "."))
    except ValueError:
        return None
    return value if low <= value <= high else None  # NaN compares False: refused too


def form_errors(scale: int) -> dict[str, str]:
    """Each refused field of the settings form and why, in the page's language (French first)."""
    form, errors = request.form, {}
    if scale not in SCALES:
        errors["scale"] = t("3, 4 ou 5 visages.", "3, 4 or 5 faces.")
    question = form.get("question_fr", "").strip()
    if not question or len(question) > QUESTION_CHARS:
        errors["question_fr"] = t(f"Une question en français de 1 à {QUESTION_CHARS} caractères.",
                                  f"A French question of 1 to {QUESTION_CHARS} characters.")
    if len(form.get("question_en", "").strip()) > QUESTION_CHARS:
        errors["question_en"] = t(f"{QUESTION_CHARS} caractères au plus.", f"{QUESTION_CHARS} characters at most.")
    if _number("response_interval_s", 0, 3600) is None:
        errors["response_interval_s"] = t("Un nombre de secondes de 0 à 3600.", "A number of seconds from 0 to 3600.")
    if not form.get("followup_enabled"):
        return errors
    if not form.get("followup_fr", "").strip():
        errors["followup_fr"] = t("La question complémentaire a besoin d'un texte en français.",
                                  "The follow-up question needs a French text.")
    when = _number("when_rating_at_most", 1, max(1, scale - 1))
    if when is None or when != int(when) or scale not in SCALES:
        errors["when_rating_at_most"] = t(f"Une note de 1 à {scale - 1}.", f"A rating from 1 to {scale - 1}.")
    if _number("followup_timeout_s", 3, 120) is None:
        errors["followup_timeout_s"] = t("De 3 à 120 secondes.", "3 to 120 seconds.")
    ids = []
    for i in range(MAX_CHOICES):
        choice_id = form.get(f"choice_{i}_id", "").strip()
        fr, en = form.get(f"choice_{i}_fr", "").strip(), form.get(f"choice_{i}_en", "").strip()
        if not choice_id:
            continue
        ids.append(choice_id)
        if not is_slug(choice_id) or ids.count(choice_id) > 1:
            errors[f"choice_{i}_id"] = t("Identifiant : minuscules, chiffres et tirets, différent des autres.",
                                         "Id: lower case, digits and dashes, unlike the others.")
        if not fr or max(len(fr), len(en)) > FOLLOWUP_LABEL_CHARS:
            errors[f"choice_{i}_fr"] = t(f"Un libellé français de 1 à {FOLLOWUP_LABEL_CHARS} caractères.",
                                         f"A French label of 1 to {FOLLOWUP_LABEL_CHARS} characters.")
    if not FOLLOWUP_MIN_CHOICES <= len(ids) <= MAX_CHOICES:
        errors["choices"] = t(f"De {FOLLOWUP_MIN_CHOICES} à {MAX_CHOICES} choix, chacun avec un identifiant.",
                              f"{FOLLOWUP_MIN_CHOICES} to {MAX_CHOICES} choices, each with an id.")
    return errors


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
    wording = form.get("wording", base.wording)
    if wording not in WORDINGS:
        raise BadConfig(t(f"Formulation inconnue : {wording[:20]}.", f"Unknown wording: {wording[:20]}."))
    return replace(base, scale=scale, question=question, response_interval_s=interval, followup=followup,
                   wording=wording)


@bp.get("")
def config():  # type: ignore[no-untyped-def]
    return _page()


def _page(typed: dict[str, str] | None = None, errors: dict[str, str] | None = None,
          site_id: str | None = None):  # type: ignore[no-untyped-def]
    """The settings page; after a refused form, with what was typed and each field's error."""
    db = get_db()
    sites = list_sites(db)
    wanted = site_id or request.args.get("site", "")
    site = get_site(db, wanted) if wanted else (sites[0] if sites else None)
    if site is None:
        return render_template("admin/config.html", admin_nav=True, sites=sites, site=None, typed={}, errors={})
    kiosks = _kiosks_of(db, site.id)
    pushed_settings = (current_settings(db, k) for k in kiosks)
    settings = next((s for s in pushed_settings if s), None) or KioskSettings(scale=site.scale)
    followup = settings.followup or DEFAULT_FOLLOWUP
    names = {k["id"]: k["name"] or k["id"] for k in list_kiosks(db, site.id)}
    return render_template("admin/config.html", admin_nav=True, sites=sites, site=site, kiosks=kiosks,
                           kiosk_names=names,
                           settings=settings, followup=followup, followup_on=settings.followup is not None,
                           max_choices=MAX_CHOICES, has_broker=live_hub().client is not None,
                           rows=fleet_rows(db, {site.id}), typed=typed or {}, errors=errors or {}), \
        400 if errors else 200


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
    errors = form_errors(scale)
    if errors:
        typed = {k: v[:200] for k, v in request.form.items() if k != "csrf_token"}
        return _page(typed, errors, site.id)
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
