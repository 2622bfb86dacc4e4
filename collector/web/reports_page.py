"""The dashboard's printable PDFs: a scope's report and a site's results poster, in one click.

Scoped like the dashboard (`User.may_see`, through `resolve_scope`); a bad
date, a future period or a poster without RESSENTI_BASE_URL is a clear error
page, never a 500.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from collector.reports_pdf.content import Scope, content_for
from collector.reports_pdf.notes import poster_notes
from collector.reports_pdf.period import ReportError, parse_day
from collector.reports_pdf.render import POSTER_SIZES, RendererMissing, poster_pdf, rendering, report_pdf, results_url
from collector.web import get_db
from collector.web.access import current_user
from collector.web.i18n import lang
from collector.web.scope import resolve_scope
from ressenti.protocol import utc_now

bp = Blueprint("reports_page", __name__)


def _refused(exc: Exception, code: int = 400):  # type: ignore[no-untyped-def]
    return render_template("errors/error.html", code=code, title=("Rapport impossible", "Report not possible"),
                           text=(str(exc), str(exc))), code


def _scope() -> Scope:
    db = get_db()
    user = current_user()
    assert user is not None  # the login wall lets no one else here
    value, label, sites = resolve_scope(db, user, request.args.get("scope"))  # 403 outside the user's scope
    if not sites:
        raise ReportError("this scope has no site")
    kind = "site" if value.startswith("site:") else "org" if value.startswith("org:") else "all"
    if kind == "all":
        raise ReportError("a report is about one site or one organisation: choose one")
    return Scope(kind, value.partition(":")[2], sites[0].name if kind == "site" else label.split(" · ")[-1], sites)


def _content(scope: Scope):  # type: ignore[no-untyped-def]
    now = utc_now()
    raw = request.args.get("date")
    day = parse_day(raw) if raw else now.astimezone(scope.sites[0].zone).date()
    return content_for(get_db(), scope, request.args.get("period", "month"), day, now, lang=lang(),
                       min_cell=current_app.config["MIN_CELL"])


def _pdf(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/dashboard/report.pdf")
def report():  # type: ignore[no-untyped-def]
    try:
        scope = _scope()
        with rendering(lang()):
            content = _content(scope)
            data = report_pdf(get_db(), content)
    except RendererMissing as exc:
        return _refused(exc, 503)  # the server's installation, not the request
    except ReportError as exc:
        return _refused(exc)
    return _pdf(data, f"ressenti-{scope.id}-{content.period.key}.pdf")


@bp.get("/dashboard/poster.pdf")
def poster():  # type: ignore[no-untyped-def]
    size = request.args.get("size", "a4")
    try:
        if size not in POSTER_SIZES:
            raise ReportError(f"size {size!r} must be a4 or a3")
        scope = _scope()
        if scope.kind != "site":
            raise ReportError("a poster is for one site: choose a site")
        try:
            url = results_url(current_app.config.get("BASE_URL"), scope.id)
        except ReportError as exc:
            return _refused(exc, 503)  # the server's configuration, not the request
        site = scope.sites[0]
        with rendering(lang()):
            content = _content(scope)
            data = poster_pdf(content, size, url, poster_notes(get_db(), site.id, site.org, content.period, lang()))
    except RendererMissing as exc:
        return _refused(exc, 503)
    except ReportError as exc:
        return _refused(exc)
    return _pdf(data, f"ressenti-{scope.id}-{content.period.key}-affiche-{size}.pdf")
