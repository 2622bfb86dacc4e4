"""Printed reports and posters (issue 13): rendered by WeasyPrint, read back with poppler and zbar."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from reports_support import attachments, pdf_page_size, pdf_pages, pdf_text, pdf_to_pngs, qr_codes, seed_known

from collector.db import connect
from collector.reports_pdf.content import content_for, resolve_scope
from collector.reports_pdf.period import ReportError, period_of
from collector.reports_pdf.render import PosterNote, poster_pdf, rendering, report_pdf, results_url

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
URL = "https://ressenti.ville-de-pont.fr/resultats/mairie"


@pytest.fixture
def db(tmp_path):
    database = connect(tmp_path / "r.db")
    seed_known(database)
    yield database
    database.close()


def _report(db, tmp_path: Path, lang: str = "fr", day: date = date(2026, 10, 12), **scope) -> Path:
    with rendering(lang):
        content = content_for(db, resolve_scope(db, **scope), "month", day, NOW, lang=lang)
        pdf = tmp_path / f"report-{lang}-{'-'.join(scope.values())}.pdf"
        pdf.write_bytes(report_pdf(db, content))
    return pdf


def test_month_report_figures_and_the_previous_month_written_out(db, tmp_path):
    text = pdf_text(_report(db, tmp_path, site="mairie"))
    assert "75 %" in text and "de satisfaits" in text
    assert "+50 %" in text and "124" in text
    assert "Période précédente (septembre 2026) : 50 % de satisfaits, satisfaction nette 0 %, 120 réponses." in text
    assert "Évolution de la satisfaction : +25 pts" in text
    assert "Évolution de la satisfaction nette : +50 pts" in text
    for heading in ("Réponses par jour", "Profil horaire", "Canaux", "Réponses brutes et filtrées",
                    "Disponibilité des bornes"):
        assert heading in text
    assert "09 h – 10 h" in text  # the hour profile: 31 answers at 9 every day


def test_scope_period_and_page_numbers_on_every_page(db, tmp_path):
    pdf = _report(db, tmp_path, org="ville")
    pages = pdf_pages(pdf)
    assert pages >= 2
    for page in range(1, pages + 1):
        text = pdf_text(pdf, page)
        assert "Organisation : Ville de Pont" in text
        assert "Période : octobre 2026" in text
        assert f"Page {page} / {pages}" in text
    pngs = pdf_to_pngs(pdf)
    assert len(pngs) == pages and all(p.stat().st_size > 5000 for p in pngs)


def test_english_report(db, tmp_path):
    pdf = _report(db, tmp_path, lang="en", site="mairie")
    text = pdf_text(pdf, 1)
    assert "Period: October 2026" in text and "Site: Mairie centrale" in text
    assert "Previous period (September 2026): 50% satisfied" in text
    assert "Page 1 / " in text


def test_a_site_with_too_few_answers_says_so_instead_of_a_figure(db, tmp_path):
    text = pdf_text(_report(db, tmp_path, site="annexe"))
    assert "Trop peu de réponses sur cette période (moins de 10)" in text
    assert "de satisfaits" not in text and "satisfaction nette" not in text
    # 3 answers, all satisfied: no rate anywhere, not even the chart's period average
    assert "moyenne de la période" not in text and "Satisf." not in text.split("Profil horaire")[1]


def test_organisation_report_compares_sites_and_masks_the_small_one(db, tmp_path):
    text = pdf_text(_report(db, tmp_path, org="ville"))
    assert "Comparaison des sites" in text
    comparison = text.split("Comparaison des sites")[1]
    assert "Mairie centrale" in comparison and "+50 %" in comparison
    assert "Annexe Sud" in comparison and "pas assez de réponses" in comparison


def test_the_csv_of_the_same_figures_is_attached(db, tmp_path):
    pdf = _report(db, tmp_path, site="mairie")
    names = attachments(pdf)
    assert "ressenti-mairie-2026-10-sites.csv" in names and "ressenti-mairie-2026-10-days.csv" in names


def test_month_to_date_and_future_periods(db):
    today = date(2026, 11, 20)
    current = period_of("month", today, today)
    assert current.to_date and current.end == today and current.key == "2026-11"
    with pytest.raises(ReportError, match="has not started yet"):
        period_of("month", date(2099, 1, 1), today)
    with pytest.raises(ReportError, match="must be week, month or year"):
        period_of("decade", today, today)
    assert period_of("week", date(2026, 10, 12), today).key == "2026-W42"


@pytest.mark.parametrize("scope, message", [({"site": "nope"}, "site 'nope' is unknown"),
                                            ({"org": "nope"}, "unknown or has no site"),
                                            ({"site": "../etc"}, "not a valid id"),
                                            ({}, "give --site or --org")])
def test_unknown_scopes_are_clear_errors(db, scope, message):
    with pytest.raises(ReportError, match=message):
        resolve_scope(db, **scope)


def test_the_alerts_of_the_period_with_their_comments(db, tmp_path):
    assert "Aucune alerte sur la période." in pdf_text(_report(db, tmp_path, site="mairie"))
    db.conn.execute("INSERT INTO alerts (id, kind, site, org, opened_at, updated_at, resolved_at, state, summary_fr)"
                    " VALUES (1, 'kiosk_offline', 'mairie', 'ville', '2026-10-07T08:00:00Z', '2026-10-07T09:00:00Z',"
                    " '2026-10-07T09:00:00Z', 'resolved', 'Borne hors ligne depuis 1 h')")
    db.conn.execute("INSERT INTO alerts (id, kind, site, org, opened_at, updated_at, summary_fr) VALUES"
                    " (2, 'satisfaction_drop', 'mairie', 'ville', '2026-11-02T08:00:00Z', '2026-11-02T08:00:00Z',"
                    " 'Hors période')")
    db.conn.execute("INSERT INTO alert_comments (alert_id, at, text) VALUES"
                    " (1, '2026-10-07T08:30:00Z', 'Prise débranchée par le ménage')")
    text = pdf_text(_report(db, tmp_path, site="mairie"))
    assert "Alertes de la période" in text and "Aucune alerte sur la période." not in text
    assert "Borne hors ligne depuis 1 h" in text and "Prise débranchée par le ménage" in text
    assert "Hors période" not in text


def _poster(db, tmp_path: Path, size: str, site: str = "mairie", notes=()) -> Path:
    with rendering("fr"):
        content = content_for(db, resolve_scope(db, site=site), "month", date(2026, 10, 12), NOW)
        pdf = tmp_path / f"poster-{site}-{size}.pdf"
        pdf.write_bytes(poster_pdf(content, size, results_url("https://ressenti.ville-de-pont.fr/", site),
                                   list(notes)))
    return pdf


def test_a3_poster_with_figures_notes_and_a_qr_code_to_the_results_page(db, tmp_path):
    notes = [PosterNote("L'attente est trop longue le lundi matin.", "Un second guichet ouvre le lundi matin.")]
    pdf = _poster(db, tmp_path, "a3", notes=notes)
    assert pdf_pages(pdf) == 1
    assert "841.89 x 1190.55 pts (A3)" in pdf_page_size(pdf)
    text = " ".join(pdf_text(pdf).split())
    assert "Vos avis sur notre accueil" in text and "75 %" in text and "124" in text
    assert "+25 pts" in text and "septembre 2026" in text
    assert "Vous nous avez dit…" in text and "L'attente est trop longue le lundi matin." in text
    assert "Nous avons fait…" in text and "Un second guichet ouvre le lundi matin." in text
    [png] = pdf_to_pngs(pdf, 100)
    assert qr_codes(png) == [URL]


def test_a4_poster_of_a_site_with_too_few_answers(db, tmp_path):
    pdf = _poster(db, tmp_path, "a4", site="annexe")
    assert "(A4)" in pdf_page_size(pdf)
    text = " ".join(pdf_text(pdf).split())
    assert "Pas encore assez de réponses" in text and "%" not in text.replace("10", "")
    [png] = pdf_to_pngs(pdf, 100)
    assert qr_codes(png) == ["https://ressenti.ville-de-pont.fr/resultats/annexe"]


def test_posters_are_for_a_site_and_need_the_base_url(db):
    with rendering("fr"):
        content = content_for(db, resolve_scope(db, org="ville"), "month", date(2026, 10, 12), NOW)
        with pytest.raises(ReportError, match="a poster is for one site"):
            poster_pdf(content, "a4", URL, [])
        with pytest.raises(ReportError, match="must be a4 or a3"):
            poster_pdf(content, "a5", URL, [])
    with pytest.raises(ReportError, match="RESSENTI_BASE_URL"):
        results_url(None, "mairie")
    with pytest.raises(ReportError, match="RESSENTI_BASE_URL"):
        results_url("javascript:alert(1)", "mairie")


def test_a_name_with_html_is_printed_as_text_and_nothing_is_fetched(db, tmp_path):
    from collector.registry import update_site
    update_site(db, "mairie", name='<img src="http://127.0.0.1:9/x.png">Mairie')
    text = pdf_text(_report(db, tmp_path, site="mairie"))
    assert '<img src="http://127.0.0.1:9/x.png">Mairie' in text.replace("\n", "")


def test_the_dashboard_chart_withholds_the_period_average_under_the_minimum(db):
    """Found while testing the report: 3 answers drew "moyenne de la période 100 %" on the dashboard too."""
    from collector.reports import build_report
    from collector.web.charts import buckets, satisfaction_line

    for site, shown in (("annexe", False), ("mairie", True)):
        report = build_report(db, resolve_scope(db, site=site).sites, date(2026, 10, 1), date(2026, 10, 31))
        with rendering("fr"):
            line = str(satisfaction_line(report, buckets(report)[1], "t"))
        assert ("moyenne de la période" in line) is shown


def test_weasyprint_fetches_nothing_but_data_uris(tmp_path):
    """A template slip (or a future field printed unescaped) cannot make the renderer read a URL or a file."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from collector.reports_pdf import render

    hits = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the report")
    try:
        port = server.server_address[1]
        pdf = tmp_path / "fetch.pdf"
        pdf.write_bytes(render._pdf(
            f'<html><head><link rel="stylesheet" href="http://127.0.0.1:{port}/style.css"></head><body>'
            f'<img src="http://127.0.0.1:{port}/pixel.png"><a rel="attachment" href="file://{secret}">x</a>'
            f'<img src="file://{secret}"></body></html>'))
    finally:
        server.shutdown()
    assert hits == []
    assert attachments(pdf) == []
