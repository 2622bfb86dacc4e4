"""The dashboard's printable PDFs (issue 13): one click in a real Chromium, scope and bad input refused clearly."""

from __future__ import annotations

import pytest
from reports_support import pdf_text, seed_known
from web_support import PASSWORD, login, open_page, quick_user

from collector.db import connect
from collector.service import WebServer
from collector.web import create_app

BASE = "https://ressenti.ville-de-pont.fr"


@pytest.fixture
def web(tmp_path):
    path = tmp_path / "web.db"
    db = connect(path)
    seed_known(db)
    quick_user(db, "manon", "manager", ("site:mairie",))
    db.close()

    def make(**config):
        app = create_app({"TESTING": True, "DATABASE": str(path), "SECRET_KEY": "t", "START_LIVE": False,
                          "BASE_URL": BASE, **config})
        client = app.test_client()
        login(client, "manon")
        return client
    return make


def test_report_and_posters_of_the_users_site(web, tmp_path):
    client = web()
    response = client.get("/dashboard/report.pdf?scope=site:mairie&period=month&date=2026-10-12")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="ressenti-mairie-2026-10.pdf"' in response.headers["Content-Disposition"]
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(response.data)
    assert "Site : Mairie centrale" in pdf_text(pdf) and "Période : octobre 2026" in pdf_text(pdf)
    english = client.get("/dashboard/report.pdf?scope=site:mairie&period=month&date=2026-10-12&lang=en")
    pdf.write_bytes(english.data)
    assert "Period: October 2026" in pdf_text(pdf)
    poster = client.get("/dashboard/poster.pdf?scope=site:mairie&size=a3&date=2026-10-12")
    assert poster.status_code == 200 and poster.data.startswith(b"%PDF")


@pytest.mark.parametrize("query, status, message", [
    ("scope=site:mairie&date=2099-01-01", 400, "has not started yet"),
    ("scope=site:mairie&date=2026-02-30", 400, "is not a date"),
    ("scope=site:mairie&date=99999999999999999999", 400, "is not a date"),
    ("scope=site:mairie&period=decade", 400, "must be week, month or year"),
    ("scope=site:annexe", 403, "Accès refusé"),  # another site of the same organisation
    ("scope=site:nope", 403, "Accès refusé"),
    ("scope=org:ville", 403, "Accès refusé"),
])
def test_bad_requests_are_clear_errors_never_a_500(web, query, status, message):
    client = web()
    for route in ("report", "poster"):
        response = client.get(f"/dashboard/{route}.pdf?{query}")
        assert response.status_code == status, (route, response.get_data(as_text=True)[:300])
        assert message in response.get_data(as_text=True)


def test_poster_size_and_base_url(web):
    client = web()
    response = client.get("/dashboard/poster.pdf?scope=site:mairie&size=a5")
    assert response.status_code == 400 and "must be a4 or a3" in response.get_data(as_text=True)
    client = web(BASE_URL=None)
    response = client.get("/dashboard/poster.pdf?scope=site:mairie&date=2026-10-12")
    assert response.status_code == 503 and "RESSENTI_BASE_URL" in response.get_data(as_text=True)


@pytest.mark.browser
def test_one_click_from_the_dashboard_site_view(browser, tmp_path):
    path = tmp_path / "web.db"
    db = connect(path)
    seed_known(db)
    quick_user(db, "manon", "manager", ("site:mairie",))
    db.close()
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "reports-tests", "SESSION_COOKIE_SECURE": False,
                      "BASE_URL": BASE, "START_LIVE": False})
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    try:
        page = open_page(browser, 1440, 900)
        page.goto(f"{server.url}/dashboard?scope=site:mairie&from=2026-10-01&to=2026-10-31")
        page.get_by_label("Identifiant").fill("manon")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/dashboard*")
        for name, what in (("Rapport du mois (PDF)", "Vos avis sur l'accueil"),
                           ("Affiche des résultats A4", "Vos avis sur notre accueil")):
            link = page.get_by_role("link", name=name)
            assert "date=2026-10-31" in (link.get_attribute("href") or "")
            with page.expect_download() as info:
                link.click(modifiers=["Alt"])  # headless Chromium downloads a PDF rather than showing it
            download = info.value
            assert download.suggested_filename.endswith(".pdf")
            pdf = tmp_path / download.suggested_filename
            download.save_as(pdf)
            text = " ".join(pdf_text(pdf).split())
            assert what in text and "octobre 2026" in text
        page.context.close()
    finally:
        server.stop()


REPORT = "/dashboard/report.pdf?scope=site:mairie&period=month&date=2026-10-12"
POSTER = "/dashboard/poster.pdf?scope=site:mairie&period=month&date=2026-10-12&size=a4"


@pytest.mark.parametrize(("missing", "urls"), [("weasyprint", (REPORT, POSTER)), ("segno", (POSTER,))])
def test_a_server_without_the_pdf_renderer_says_what_to_install(web, monkeypatch, missing, urls):
    """A collector without WeasyPrint, segno or Pango: a 503 that names the fix, never a 500."""
    import sys
    monkeypatch.setitem(sys.modules, missing, None)  # `import weasyprint` now raises ImportError
    client = web()
    for url in urls:
        response = client.get(url)
        assert response.status_code == 503, url
        assert "pip install -e &#39;.[collector]&#39;" in response.get_data(as_text=True) \
            or "pip install -e '.[collector]'" in response.get_data(as_text=True)
