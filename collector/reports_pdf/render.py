"""Reports and posters as PDF: Jinja templates (collector/templates/reports/) printed by WeasyPrint.

Charts are the dashboard's own SVG (collector/web/charts.py). WeasyPrint is
given no URL it could fetch: everything is in the page, the QR code a data URI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, g, has_app_context, render_template

from collector.config_push import followup_labels
from collector.exports import channels_table, days_table, heatmap_table, reasons_table, sites_table, to_csv
from collector.reports import followup_answers
from collector.reports_pdf.content import Content
from collector.reports_pdf.period import ReportError
from collector.web import i18n

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
POSTER_SIZES = ("a4", "a3")
LANGS = i18n.LANGS


@dataclass(frozen=True)
class PosterNote:
    """One "Vous nous avez dit… / Nous avons fait…" pair, in the poster's language."""

    said: str
    done: str


def _bare_app() -> Flask:
    app = Flask("collector.reports_pdf", template_folder=str(TEMPLATES))
    app.config["TIME_ZONE"] = "Europe/Paris"
    i18n.install(app)
    return app


@contextmanager
def rendering(lang: str) -> Iterator[None]:
    """The web app's context inside a request, else a bare one; labels in `lang` either way."""
    if lang not in LANGS:
        raise ReportError(f"language {lang!r} must be fr or en")
    if has_app_context():
        previous = g.get("lang")
        g.lang = lang
        try:
            yield
        finally:
            if previous is None:
                g.pop("lang", None)
            else:
                g.lang = previous
        return
    with _bare_app().app_context():
        g.lang = lang
        yield


class RendererMissing(ReportError):
    """WeasyPrint, segno or Debian's Pango is not installed where the report is made."""


RENDERER_FIX = ("printing needs WeasyPrint and segno (pip install -e '.[collector]') and Debian's Pango"
                " (apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)")


def _pdf(html: str, attachments: list[tuple[str, str]] | None = None) -> bytes:
    try:  # imported on use: the web app starts without Pango
        from weasyprint import HTML, Attachment, URLFetcher
    except (ImportError, OSError) as exc:  # OSError: the Python package is there, Pango's library is not
        raise RendererMissing(f"{RENDERER_FIX}: {exc}") from exc

    # A report loads nothing from outside the page: data: URIs only (the QR code).
    fetcher = URLFetcher(allowed_protocols=("data",), allow_redirects=False)
    files = [Attachment(string=text.encode(), name=name, description=name) for name, text in attachments or []]
    return HTML(string=html, url_fetcher=fetcher).write_pdf(attachments=files)


def csv_files(db: Any, content: Content) -> list[tuple[str, str]]:
    """The report's figures as CSV files (collector/exports.py), masked like the PDF."""
    report = content.report
    answers = followup_answers(db, report.sites, report.start, report.end, counts=report.counts)
    labels = followup_labels(db, (s.id for s in report.sites))
    stem = f"ressenti-{content.scope.id}-{content.period.key}"
    tables = {"days": days_table(report), "hours": heatmap_table(report), "sites": sites_table(report),
              "channels": channels_table(report), "reasons": reasons_table(report, answers, labels)}
    return [(f"{stem}-{name}.csv", to_csv(table)) for name, table in tables.items()]


def report_html(content: Content) -> str:
    return render_template("reports/report.html", c=content, report=content.report)


def report_pdf(db: Any, content: Content) -> bytes:
    """The report, with its CSV files attached inside the PDF too."""
    return _pdf(report_html(content), csv_files(db, content))


def qr_data_uri(url: str) -> str:
    try:
        import segno  # imported on use, like WeasyPrint
    except ImportError as exc:
        raise RendererMissing(f"{RENDERER_FIX}: {exc}") from exc

    return str(segno.make(url, error="m").svg_data_uri(scale=10, border=4, dark="#000", light="#fff"))


def results_url(base_url: str | None, site_id: str) -> str:
    """The public results page of a site (RESSENTI_BASE_URL + /resultats/<site>)."""
    if not base_url or not base_url.startswith(("https://", "http://")):
        raise ReportError("RESSENTI_BASE_URL must be set to the collector's public address, e.g."
                          " https://ressenti.ville.fr, for the poster's QR code")
    return f"{base_url.rstrip('/')}/resultats/{site_id}"


def poster_pdf(content: Content, size: str, url: str, notes: list[PosterNote]) -> bytes:
    if size not in POSTER_SIZES:
        raise ReportError(f"poster size {size!r} must be a4 or a3")
    if content.scope.kind != "site":
        raise ReportError("a poster is for one site: give --site")
    html = render_template("reports/poster.html", c=content, report=content.report, size=size, url=url,
                           qr=qr_data_uri(url), notes=notes)
    return _pdf(html)


def html_pdf(html: str) -> bytes:
    """Any of the collector's printable pages (the barometer's code sheets too) as PDF, loading nothing."""
    return _pdf(html)
