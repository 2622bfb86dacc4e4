"""The public results in a real headless Chromium (issue 13): desktop and phone, axe, no JavaScript,
framed by a page of another origin, and read by another origin's script (CORS)."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from web_support import PASSWORD, axe_violations, open_page, quick_user, seed_history

from collector.db import connect
from collector.notes import save_note
from collector.public_results import last_full_month
from collector.service import WebServer
from collector.web import create_app
from collector.web.scope import DEFAULT_ZONE

pytestmark = pytest.mark.browser

DESKTOP, PHONE = (1440, 900), (390, 844)
MONTH = last_full_month(datetime.now(DEFAULT_ZONE).date())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The collector on a month of history (one site too small to publish), with a note."""
    path = tmp_path_factory.mktemp("public") / "collector.db"
    db = connect(path)
    seed_history(db)
    save_note(db, "site:mairie-centre", f"{MONTH:%Y-%m}", said_fr="L'attente au guichet est trop longue le lundi.",
              done_fr="Un second guichet ouvre le lundi matin depuis le 15.",
              done_en="A second desk opens on Monday mornings since the 15th.", today=datetime.now().date())
    quick_user(db, "manon", "manager", ("org:demo-ville",))
    db.close()
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "public-tests", "SESSION_COOKIE_SECURE": False})
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


class TownSite:
    """The town's own website on another port (another origin): one page frames, another fetches."""

    def __init__(self, collector: str) -> None:
        pages = {
            "/embed": f"""<!doctype html><html lang="fr"><title>Ville</title><h1>Site de la ville</h1>
                <iframe title="Résultats" src="{collector}/resultats/mairie-centre/embed" width="500"
                 height="600"></iframe>
                <iframe title="Page complète" src="{collector}/resultats/mairie-centre" width="500"
                 height="300"></iframe>
                <img id="badge" alt="Résultats" src="{collector}/resultats/mairie-centre/badge.svg">""",
            "/fetch": f"""<!doctype html><html lang="fr"><title>Ville</title><pre id="out"></pre><script>
                const out = {{}};
                async function read(name, url, options) {{
                  try {{ const r = await fetch(url, options); out[name] = await r.text(); }}
                  catch (e) {{ out[name] = 'blocked: ' + e.name; }}
                }}
                (async () => {{
                  await read('sites', '{collector}/api/v1/sites');
                  await read('csv', '{collector}/opendata/resultats.csv?site=mairie-centre');
                  await read('kiosks', '{collector}/api/v1/kiosks', {{headers: {{Authorization: 'Bearer x'}}}});
                  await read('dashboard', '{collector}/dashboard', {{credentials: 'include'}});
                  document.getElementById('out').textContent = JSON.stringify(out);
                  document.body.dataset.done = '1';
                }})();
                </script>""",
        }

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="module")
def town(site):
    other = TownSite(site.url)
    yield other
    other.stop()


PAGES = [("public-site", "/resultats/mairie-centre"), ("public-site-en", "/resultats/mairie-centre?lang=en"),
         ("public-org", "/resultats/org/demo-ville"), ("public-small", "/resultats/mairie-annexe-sud"),
         ("public-embed", "/resultats/mairie-centre/embed"), ("public-404", "/resultats/nowhere")]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_public_pages_pass_axe_and_fit_the_screen(browser, site, artifacts, size):
    page = open_page(browser, *size)
    found = {}
    for name, path in PAGES:
        response = page.goto(f"{site.url}{path}")
        assert response.status == (404 if name == "public-404" else 200), path
        page.screenshot(path=str(artifacts / f"{name}-{size[0]}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size[0], f"{path} scrolls sideways at {size[0]} px ({width} px)"
        violations = axe_violations(page)
        if violations:
            found[path] = violations
    assert found == {}
    page.context.close()


def test_the_page_reads_the_same_without_javascript(browser, site):
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{site.url}/resultats/mairie-centre")
    year = page.get_by_test_id("figure-year")
    assert "%" in year.inner_text() and "avis" in page.get_by_test_id("answers-year").inner_text()
    assert "Un second guichet ouvre le lundi matin" in page.get_by_test_id("notes").inner_text()
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en")
    assert "A second desk opens on Monday mornings" in page.get_by_test_id("notes").inner_text()
    assert page.get_by_role("heading", name="The last 12 months").is_visible()
    page.goto(f"{site.url}/resultats/mairie-annexe-sud")
    assert ("Pas encore assez d'avis pour publier un chiffre (minimum 100 sur 12 mois)"
            in page.get_by_test_id("withheld-year").inner_text())
    assert "%" not in page.get_by_test_id("figure-year").inner_text()
    assert context.cookies() == [], "a public reader gets no cookie"
    context.close()


def test_another_origin_frames_the_embed_only(browser, site, town, artifacts):
    page = open_page(browser, *DESKTOP)
    page.goto(f"{town.url}/embed")
    embed = page.frame_locator("iframe[title='Résultats']")
    assert "%" in embed.get_by_test_id("figure-year").inner_text(timeout=10_000)
    assert "Un second guichet" in embed.get_by_test_id("notes").inner_text()
    page.wait_for_function("document.getElementById('badge').complete")
    assert page.evaluate("document.getElementById('badge').naturalWidth") == 380, "the badge shows on another site"
    page.screenshot(path=str(artifacts / "public-embed-in-town-site.png"))
    # The full page refuses to be framed (frame-ancestors 'none'): Chromium shows its error page instead,
    # so only one of the two frames holds figures.
    frames = [f for f in page.frames if f is not page.main_frame]
    assert len(frames) == 2
    assert sum(f.locator("[data-testid='figure-year']").count() for f in frames) == 1
    page.context.close()


def test_another_origin_reads_the_public_api_not_the_private_one(browser, site, town):
    page = open_page(browser, *DESKTOP)
    page.goto(f"{town.url}/fetch")
    page.wait_for_selector("body[data-done='1']", timeout=10_000)
    out = json.loads(page.locator("#out").inner_text())
    assert '"mairie-centre"' in out["sites"]
    assert out["csv"].startswith("site_id,site_name,org_id")
    assert out["kiosks"].startswith("blocked"), "an authenticated route is not readable from another origin"
    assert out["dashboard"].startswith("blocked"), "nor a cookie page"
    page.context.close()



def test_a_manager_writes_a_note_in_the_dashboard_and_the_public_page_shows_it(browser, site, artifacts):
    page = open_page(browser, *PHONE)
    page.goto(f"{site.url}/notes")
    page.get_by_label("Identifiant").fill("manon")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{site.url}/notes")
    page.get_by_label("Périmètre").select_option("site:france-services-nord")
    page.get_by_role("button", name="Ouvrir").click()
    page.get_by_label("Vous nous avez dit… (français)").fill("Les horaires du samedi ne suffisent pas.")
    page.get_by_label("Nous avons fait… (français)").fill("Ouverture le samedi jusqu'à 13 h.")
    page.get_by_role("button", name="Enregistrer").click()
    assert page.get_by_role("status").inner_text().startswith("Note enregistrée")
    page.screenshot(path=str(artifacts / "notes-page-390.png"), full_page=True)
    assert axe_violations(page) == []
    page.goto(f"{site.url}/resultats/france-services-nord")
    assert "Ouverture le samedi jusqu'à 13 h." in page.get_by_test_id("notes").inner_text()
    page.context.close()
