"""The alert settings page: each user's e-mail and subscriptions, through the forms and in a real Chromium."""

from __future__ import annotations

import re

import pytest
from web_support import PASSWORD, axe_violations, login, open_page, post_form, quick_user

from collector.alerts.subscriptions import KINDS, get_email, subscriptions
from collector.alerts.webhook import list_webhooks
from collector.db import connect
from collector.registry import add_site
from collector.service import WebServer
from collector.users import find_user
from collector.web import create_app


@pytest.fixture
def db(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "autre", "Autre commune", org="ailleurs")
    quick_user(db, "victor", "viewer", ("site:mairie",))
    quick_user(db, "manon", "manager", ("org:ville",))
    yield db
    db.close()


def test_defaults_managers_everything_viewers_nothing(db, client):
    login(client, "victor")
    page = client.get("/alerts/settings").get_data(as_text=True)
    assert "Mes alertes" in page and "Mairie" in page and "Autre commune" not in page
    assert 'name="kind" value="unhappy_share" checked' not in page
    victor, manon = find_user(db, "victor"), find_user(db, "manon")
    assert victor is not None and manon is not None
    assert subscriptions(db, victor) == (True, {k: False for k in KINDS})
    assert subscriptions(db, manon) == (True, {k: True for k in KINDS})


def test_a_viewer_sets_an_address_and_subscribes(db, client):
    login(client, "victor")
    response = post_form(client, "/alerts/settings", "/alerts/settings",
                         {"email": " victor@ville.example.fr ", "everything": "on",
                          "kind": ["kiosk_offline", "silence", "not_a_kind"]})
    assert response.status_code == 302
    victor = find_user(db, "victor")
    assert victor is not None
    assert get_email(db, victor.id) == "victor@ville.example.fr"
    everything, kinds = subscriptions(db, victor)
    assert everything and {k for k, on in kinds.items() if on} == {"kiosk_offline", "silence"}
    page = client.get("/alerts/settings").get_data(as_text=True)
    assert "Vos réglages d&#39;alertes sont enregistrés." in page or "Vos réglages d'alertes sont enregistrés." in page
    assert 'value="victor@ville.example.fr"' in page


@pytest.mark.parametrize("bad", ["no-at-sign", "a@b", "victor@ville.fr\r\nBcc: everyone@example.org",
                                 "<victor@ville.fr>", "x" * 300 + "@ville.fr", "a b@ville.fr"])
def test_a_bad_address_is_refused_with_a_message_and_changes_nothing(db, client, bad):
    login(client, "manon")
    post_form(client, "/alerts/settings", "/alerts/settings", {"email": "manon@ville.example.fr", "everything": "on"})
    response = post_form(client, "/alerts/settings", "/alerts/settings", {"email": bad, "everything": "on"})
    assert response.status_code == 302
    assert "adresse e-mail invalide" in client.get("/alerts/settings").get_data(as_text=True)
    manon = find_user(db, "manon")
    assert manon is not None and get_email(db, manon.id) == "manon@ville.example.fr"


def test_everything_off_and_no_address(db, client):
    login(client, "manon")
    post_form(client, "/alerts/settings", "/alerts/settings", {"email": "", "kind": list(KINDS)})
    manon = find_user(db, "manon")
    assert manon is not None and get_email(db, manon.id) is None
    assert subscriptions(db, manon)[0] is False
    assert "Sans adresse e-mail" in client.get("/alerts/settings").get_data(as_text=True)


@pytest.mark.browser
def test_the_settings_page_in_chromium(browser, tmp_path, artifacts):
    path = tmp_path / "browser.db"
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "alerts-tests", "SESSION_COOKIE_SECURE": False})
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    quick_user(db, "victor", "viewer", ("site:mairie",))
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    try:
        page = open_page(browser, 1440, 900)
        page.goto(f"{server.url}/alerts/settings")
        page.get_by_label("Identifiant").fill("victor")
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{server.url}/alerts/settings")
        assert page.get_by_role("heading", name="Mes alertes").is_visible()
        page.get_by_label("Adresse e-mail").fill("victor@ville.example.fr")
        page.get_by_label("Borne hors ligne").check()
        page.get_by_role("button", name="Enregistrer").click()
        page.wait_for_load_state()
        assert page.get_by_role("status").inner_text() == "Vos réglages d'alertes sont enregistrés."
        assert page.get_by_label("Borne hors ligne").is_checked()
        assert not page.get_by_label("Beaucoup d'avis négatifs").is_checked()
        assert axe_violations(page) == []
        page.screenshot(path=str(artifacts / "alert-settings.png"), full_page=True)
        page.context.close()
        victor = find_user(db, "victor")
        assert victor is not None and get_email(db, victor.id) == "victor@ville.example.fr"
    finally:
        server.stop()
        db.close()


def test_an_admin_adds_a_webhook_sees_its_secret_once_and_disables_it(db, client):
    quick_user(db, "alice", "admin")
    login(client, "alice")
    added = post_form(client, "/admin/alert-webhooks", "/admin/alert-webhooks",
                      {"url": "https://hooks.ville.example.fr/tchap", "scope": "org:ville", "label": "Salon accueil"})
    assert added.status_code == 201
    page = added.get_data(as_text=True)
    secret = re.search(r'id="new-secret" class="url" readonly value="([^"]+)"', page)
    assert secret and len(secret.group(1)) >= 32
    listing = client.get("/admin/alert-webhooks").get_data(as_text=True)
    assert "Salon accueil" in listing and "hooks.ville.example.fr/tchap" in listing
    assert secret.group(1) not in listing
    (hook,) = list_webhooks(db)
    assert hook["scope"] == "org:ville" and hook["enabled"] == 1
    assert post_form(client, "/admin/alert-webhooks", f"/admin/alert-webhooks/{hook['id']}/enabled",
                     {}).status_code == 302
    assert list_webhooks(db)[0]["enabled"] == 0
    refused = post_form(client, "/admin/alert-webhooks", "/admin/alert-webhooks",
                        {"url": "javascript:alert(1)", "scope": "all"})
    assert refused.status_code == 302
    assert "Webhook refusé" in client.get("/admin/alert-webhooks").get_data(as_text=True)
    assert len(list_webhooks(db)) == 1
