"""QR cards of survey links on /admin/survey: each printable card's QR code decodes (zbarimg) to the short
link, and a manager gets the cards of the sites in their scope only."""

from __future__ import annotations

import re

import pytest
from reports_support import pdf_text, pdf_to_pngs, qr_codes
from web_support import login, post_form, quick_user

from collector.db import connect
from collector.registry import add_site
from collector.survey.links import create_link, list_links
from collector.web import create_app

BASE = "https://avis.ville-exemple.fr"


@pytest.fixture
def admin(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "web.db"), "SECRET_KEY": "t",
                      "START_LIVE": False, "BASE_URL": BASE})
    db = connect(app.config["DATABASE"])
    quick_user(db, "alice", "admin")
    add_site(db, "mairie", "Mairie — accueil central")
    db.close()
    client = app.test_client()
    login(client, "alice")
    yield app, client
    app.extensions["ressenti_live"].stop()


@pytest.mark.parametrize("size", ["a5", "a6", "sticker"])
def test_each_card_decodes_to_the_short_link_and_prints_it(admin, tmp_path, size):
    app, client = admin
    made = post_form(client, "/admin/survey?site=mairie", "/admin/survey/links",
                     {"site": "mairie", "channel": "web", "desk": "État civil"})
    assert made.status_code == 302
    link = list_links(connect(app.config["DATABASE"]))[0]
    url = f"{BASE}/s/{link.slug}"
    page = client.get("/admin/survey?site=mairie").get_data(as_text=True)
    assert url in page
    response = client.get(f"/admin/survey/links/{link.id}/card.pdf?size={size}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = tmp_path / f"card-{size}.pdf"
    pdf.write_bytes(response.data)
    pngs = pdf_to_pngs(pdf, resolution=150)
    assert len(pngs) == 1, "one page per card"
    assert qr_codes(pngs[0]) == [url]
    text = pdf_text(pdf)
    assert url.split("://")[1] in text.replace("\n", "") and "Votre avis compte" in text


def test_svg_qr_the_website_button_and_revoking(admin, tmp_path):
    app, client = admin
    post_form(client, "/admin/survey?site=mairie", "/admin/survey/links", {"site": "mairie", "channel": "web"})
    link = list_links(connect(app.config["DATABASE"]))[0]
    url = f"{BASE}/s/{link.slug}"
    svg = client.get(f"/admin/survey/links/{link.id}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    # The SVG file itself, drawn by WeasyPrint's SVG renderer on a page, then scanned.
    import base64

    from weasyprint import HTML
    source = base64.b64encode(svg.data).decode()
    drawn = tmp_path / "svg.pdf"
    drawn.write_bytes(HTML(string=f'<img style="width:80mm" src="data:image/svg+xml;base64,{source}">').write_pdf())
    assert qr_codes(pdf_to_pngs(drawn, resolution=150)[0]) == [url]
    page = client.get("/admin/survey?site=mairie").get_data(as_text=True)
    embed = re.search(rf'<textarea id="embed-{link.id}"[^>]*>([^<]+)</textarea>', page).group(1)
    assert f'href=&#34;{url}&#34;' in embed or f"href=&quot;{url}&quot;" in embed
    assert "script" not in embed
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/survey/links/{link.id}/revoke", data={"csrf_token": token}).status_code == 302
    assert list_links(connect(app.config["DATABASE"]))[0].revoked is not None
    page = client.get("/admin/survey?site=mairie").get_data(as_text=True)
    assert f"/admin/survey/links/{link.id}/card.pdf" not in page and f"embed-{link.id}" not in page


def test_without_a_public_address_cards_say_what_to_set(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "web.db"), "SECRET_KEY": "t", "START_LIVE": False})
    db = connect(app.config["DATABASE"])
    quick_user(db, "alice", "admin")
    add_site(db, "mairie", "Mairie")
    db.close()
    client = app.test_client()
    login(client, "alice")
    post_form(client, "/admin/survey?site=mairie", "/admin/survey/links", {"site": "mairie", "channel": "web"})
    link = list_links(connect(app.config["DATABASE"]))[0]
    refused = client.get(f"/admin/survey/links/{link.id}/card.pdf?size=a5")
    assert refused.status_code == 503 and "RESSENTI_BASE_URL" in refused.get_data(as_text=True)
    assert client.get(f"/admin/survey/links/{link.id}/card.pdf?size=a2").status_code == 400
    app.extensions["ressenti_live"].stop()


def test_a_manager_downloads_the_cards_of_their_sites_only(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "web.db"), "SECRET_KEY": "t",
                      "START_LIVE": False, "BASE_URL": BASE})
    db = connect(app.config["DATABASE"])
    quick_user(db, "manon", "manager", ("site:mairie",))
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "autre", "Autre commune", org="ailleurs")
    mine, theirs = create_link(db, "mairie", "web"), create_link(db, "autre", "web")
    db.close()
    client = app.test_client()
    login(client, "manon")
    page = client.get("/admin/survey?site=mairie").get_data(as_text=True)
    assert f"/admin/survey/links/{mine.id}/card.pdf?size=a6" in page and f"/links/{theirs.id}/" not in page
    own = client.get(f"/admin/survey/links/{mine.id}/card.pdf?size=a6")
    assert own.status_code == 200 and own.mimetype == "application/pdf"
    pdf = tmp_path / "own.pdf"
    pdf.write_bytes(own.data)
    assert qr_codes(pdf_to_pngs(pdf, resolution=150)[0]) == [f"{BASE}/s/{mine.slug}"]
    assert client.get(f"/admin/survey/links/{mine.id}/qr.svg").status_code == 200
    for size in ("a5", "a6", "sticker"):
        assert client.get(f"/admin/survey/links/{theirs.id}/card.pdf?size={size}").status_code == 404
    assert client.get(f"/admin/survey/links/{theirs.id}/qr.svg").status_code == 404
    assert client.get("/admin/survey?site=autre").status_code == 404
    app.extensions["ressenti_live"].stop()


def test_the_old_links_page_redirects_to_the_survey_page(admin):
    _, client = admin
    moved = client.get("/admin/survey-links")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/admin/survey")
    assert client.get("/admin/survey-links", follow_redirects=True).status_code == 200
