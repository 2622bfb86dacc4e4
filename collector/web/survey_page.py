"""The citizens' survey page (issue 14): /s/<slug>, server-rendered, no account, no cookie, no JavaScript.

GET shows the site's question and faces with a signed one-time form; POST stores the rating
once (collector/survey/submit.py), asking the follow-up question first when the site's
kiosks would (the rating rides on the same event). Every citizen text is in templates/survey/.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from collector.registry import get_site
from collector.rejections import RejectionClass, record_rejection
from collector.survey.comments import CommentError, clean_comment
from collector.survey.form import SurveyForm, survey_form
from collector.survey.guard import Limits, check_form, client_key, new_form
from collector.survey.links import Link, get_link_by_slug
from collector.survey.submit import Outcome, submit, topic_of
from collector.web import get_db, live_hub
from collector.web.charts import face_icon
from collector.web.i18n import lang
from ressenti.faces import label as face_label
from ressenti.protocol import utc_now

bp = Blueprint("survey", __name__, url_prefix="/s")


def _page(template: str, status: int = 200, **context: Any):  # type: ignore[no-untyped-def]
    response = current_app.make_response((render_template(template, **context), status))
    response.headers["Cache-Control"] = "no-store"  # a form's nonce is for one citizen
    return response


def _link(slug: str) -> tuple[Link | None, Any]:
    link = get_link_by_slug(get_db(), slug)
    if link is None:
        return None, _page("survey/gone.html", 404, revoked=False)
    if link.revoked is not None:
        return None, _page("survey/gone.html", 410, revoked=True)
    return link, None


def _faces(form: SurveyForm) -> list[dict[str, Any]]:
    return [{"rating": r, "label": face_label(form.scale, r, lang()), "icon": face_icon(form.scale, r, 64)}
            for r in range(form.scale, 0, -1)]


def _show(link: Link, form: SurveyForm, *, status: int = 200, error: str | None = None,
          comment: str = "", chosen: int | None = None):  # type: ignore[no-untyped-def]
    site = get_site(get_db(), link.site)
    return _page("survey/survey.html", status, link=link, form=form, site=site, faces=_faces(form), error=error,
                 fields=new_form(current_app.config["SECRET_KEY"], link.slug, utc_now()), comment=comment,
                 chosen=chosen)


@bp.get("/<slug>")
def survey(slug: str):  # type: ignore[no-untyped-def]
    link, gone = _link(slug)
    if link is None:
        return gone
    return _show(link, survey_form(get_db(), get_site(get_db(), link.site)))  # type: ignore[arg-type]


@bp.get("/<slug>/merci")
def thanks(slug: str):  # type: ignore[no-untyped-def]
    link = get_link_by_slug(get_db(), slug)
    if link is None:
        return _page("survey/gone.html", 404, revoked=False)
    return _page("survey/thanks.html", link=link, site=get_site(get_db(), link.site))


@bp.post("/<slug>")
def answer(slug: str):  # type: ignore[no-untyped-def]
    from collector.web.i18n import t
    db, now = get_db(), utc_now()
    link, gone = _link(slug)
    if link is None:
        return gone
    form = survey_form(db, get_site(db, link.site))  # type: ignore[arg-type]
    fields = request.form

    def refuse(reason: str, status: int, fr: str, en: str, **kept: Any):  # type: ignore[no-untyped-def]
        record_rejection(db, reason=reason, raw=repr(sorted(fields.keys()))[:200].encode(), topic=topic_of(link),
                         received_at=now, kiosk=link.producer, reason_class=RejectionClass.CONTRACT)
        return _show(link, form, status=status, error=t(fr, en), **kept)

    nonce, why = check_form(current_app.config["SECRET_KEY"], slug, fields, now)
    if nonce is None:
        return refuse(f"survey form refused: {why}", 400, "Ce formulaire n'est plus valable : choisissez à nouveau.",
                      "This form is no longer valid: please choose again.")
    raw_rating = fields.get("rating", "")
    rating = int(raw_rating) if raw_rating.isdigit() and len(raw_rating) < 3 else None
    if rating is None or not 1 <= rating <= form.scale:
        return refuse(f"rating {raw_rating[:20]!r} outside scale {form.scale}", 400,
                      "Choisissez un des visages proposés.", "Choose one of the faces shown.")
    comment_text = fields.get("comment", "") if form.comments else ""
    try:
        comment = clean_comment(comment_text)
    except CommentError as exc:
        return refuse(f"comment refused: {exc.en}", 400, exc.fr, exc.en, comment=comment_text[:2000], chosen=rating)
    followup = None
    if form.followup is not None and form.followup.applies_to(rating):
        choice = fields.get("followup")
        if choice is None:  # the follow-up step, as on a touch kiosk: nothing stored yet
            return _page("survey/followup.html", link=link, form=form, followup=form.followup, rating=rating,
                         hidden={k: fields[k] for k in ("n", "i", "s")}, comment=comment_text,
                         site=get_site(db, link.site))
        if choice != "skip":
            try:
                followup = form.followup.answer(choice)
            except ValueError:
                followup = None  # an answer no longer offered: the rating still counts
    limits = Limits.from_config(current_app.config)
    address = request.remote_addr
    result = submit(db, link, form, nonce=nonce, rating=rating, client=client_key(db, address, now), now=now,
                    followup=followup, comment=comment, lang=lang(), limits=limits)
    if result.outcome is Outcome.LIMITED:
        response = _page("survey/limited.html", 429, link=link, site=get_site(db, link.site))
        response.headers["Retry-After"] = "600"
        return response
    if result.outcome is Outcome.REFUSED:
        return _page("survey/gone.html", 410 if "retired" in result.reason else 400, revoked=True)
    if result.stored is not None and result.stored.new_ratings:
        live_hub().announce(result.stored.site, result.stored.new_ratings)
    return redirect(url_for("survey.thanks", slug=slug, lang=lang()), 303)
