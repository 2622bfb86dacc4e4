"""Issue 12 in the web app: the alert-rules API and admin page, the alerts page (scoped), the fleet block."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from alerts_support import SmtpServer, free_port
from web_support import (
    PASSWORD,
    Press,
    axe_violations,
    login,
    open_page,
    post_form,
    quick_user,
    store_presses,
)

from collector.alerts.delivery import run_delivery_once
from collector.alerts.delivery_settings import from_env
from collector.alerts.evaluate import evaluate
from collector.alerts.store import list_rules
from collector.alerts.subscriptions import set_email
from collector.alerts.webhook import add_webhook
from collector.db import connect
from collector.fleet import record_status
from collector.registry import add_kiosk, add_site
from collector.service import WebServer
from collector.web import create_app
from ressenti.protocol import utc_now


def seed_alerts(db) -> None:
    """An unhappy-share alert at `mairie` (org ville), a kiosk-offline one at `ailleurs` (org autre)."""
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "ailleurs", "Autre commune", org="autre")
    add_kiosk(db, "mairie-borne-1", "mairie")
    add_kiosk(db, "ailleurs-borne-1", "ailleurs")
    now = utc_now()
    store_presses(db, "mairie-borne-1", "mairie", [Press(now - timedelta(minutes=m), 1) for m in (9, 7, 5, 3)])
    record_status(db, "ailleurs-borne-1", "ailleurs", b'{"v": 1, "state": "offline"}', now - timedelta(hours=1))
    result = evaluate(db, now)
    assert result.raised == 2, result


@pytest.fixture
def db(app):
    db = connect(app.config["DATABASE"])
    yield db
    db.close()


# -- the JSON API ------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field", "fr"), [
    ({"kind": "unhappy_share", "scope": "all", "params": {"window_min": 0}}, "window_min", "0 n'est pas entre"),
    ({"kind": "unhappy_share", "scope": "all", "params": {"share_pct": 150}}, "share_pct", "150 n'est pas entre"),
    ({"kind": "unhappy_share", "scope": "all", "params": {"share_pct": 2 ** 70}}, "share_pct", "n'est pas entre"),
    ({"kind": "unhappy_share", "scope": "site:nowhere"}, "scope", "le site 'nowhere' n'existe pas"),
    ({"kind": "unhappy_share", "scope": "all", "enabled": "yes"}, "enabled", "vrai ou faux"),
    ({"kind": "rank_agents", "scope": "all"}, "kind", "type d'alerte inconnu"),
    ({"scope": "all"}, "kind", "champ obligatoire"),
])
def test_the_api_refuses_bad_rules_with_the_field_and_a_reason(client, admin_headers, body, field, fr):
    response = client.post("/api/v1/alert-rules", json=body, headers=admin_headers)
    assert response.status_code == 400
    assert response.json["field"] == field and fr in response.json["error_fr"] and response.json["error"]


def test_the_api_manages_rules(client, admin_headers, db):
    add_site(db, "mairie", "Mairie", org="ville")
    assert client.post("/api/v1/alert-rules", data="[1", headers=admin_headers,
                       content_type="application/json").status_code == 400
    made = client.post("/api/v1/alert-rules", headers=admin_headers,
                       json={"kind": "silence", "scope": "org:ville", "params": {"min_minutes": 45}})
    assert made.status_code == 201
    rule = made.json
    assert rule["params"]["min_minutes"] == 45 and rule["created_by"].startswith("token ")
    listed = client.get("/api/v1/alert-rules", headers=admin_headers).json
    assert listed["rules"] == [rule] and listed["defaults"]["unhappy_share"]["share_pct"] == 50
    changed = client.patch(f"/api/v1/alert-rules/{rule['id']}", headers=admin_headers,
                           json={"params": {"factor": 4}, "enabled": False})
    assert changed.json["params"] == {**rule["params"], "factor": 4} and changed.json["enabled"] is False
    refused = client.patch(f"/api/v1/alert-rules/{rule['id']}", headers=admin_headers, json={"params": {"weeks": 0}})
    assert refused.status_code == 400 and refused.json["field"] == "weeks"
    assert client.delete(f"/api/v1/alert-rules/{rule['id']}", headers=admin_headers).json["deleted"] is True
    assert client.get(f"/api/v1/alert-rules/{rule['id']}", headers=admin_headers).status_code == 404


# -- the admin page ----------------------------------------------------------------


def test_the_admin_page_shows_the_french_message_next_to_the_field(client, db):
    add_site(db, "mairie", "Mairie", org="ville")
    quick_user(db, "alice", "admin")
    login(client, "alice")
    refused = post_form(client, "/admin/alerts", "/admin/alerts",
                        {"kind": "unhappy_share", "scope": "site:mairie", "share_pct": "150", "window_min": "15",
                         "min_count": "4"})
    assert refused.status_code == 400
    page = html.unescape(refused.get_data(as_text=True))
    section = page[page.index('data-testid="new-rule-unhappy_share"'):]
    section = section[:section.index("</section>")]
    assert re.search(r'id="unhappy_share-share_pct"[^>]*value="150"[^>]*aria-invalid="true"', section)
    assert ('data-testid="error-share_pct">part des visages du bas (%) : 150 n\'est pas entre 1 et 100</p>'
            in section)
    assert list_rules(db) == []
    unknown = post_form(client, "/admin/alerts", "/admin/alerts", {"kind": "rank_agents", "scope": "all"})
    assert unknown.status_code == 400 and "type d'alerte inconnu" in html.unescape(unknown.get_data(as_text=True))
    saved = post_form(client, "/admin/alerts", "/admin/alerts",
                      {"kind": "unhappy_share", "scope": "site:mairie", "share_pct": "70", "window_min": "30",
                       "min_count": "6"})
    assert saved.status_code == 302
    [rule] = list_rules(db)
    assert rule["params"] == {"share_pct": 70, "window_min": 30, "min_count": 6} and rule["created_by"] == "alice"
    post_form(client, "/admin/alerts", f"/admin/alerts/{rule['id']}/enabled", {})
    assert list_rules(db)[0]["enabled"] is False
    post_form(client, "/admin/alerts", f"/admin/alerts/{rule['id']}/delete", {})
    assert list_rules(db) == []


# -- the alerts page and the fleet block --------------------------------------------


def test_a_viewer_sees_only_the_alerts_of_their_scope(client, db, app):
    seed_alerts(db)
    quick_user(db, "victor", "viewer", ("org:ville",))
    quick_user(db, "olga", "manager", ("org:autre",))
    login(client, "victor")
    page = client.get("/alerts").get_data(as_text=True)
    assert "Mairie" in page and "4 réponses sur 4 (100 %)" in page
    assert "Autre commune" not in page and "ailleurs-borne-1" not in page
    assert "Je prends en compte" not in page, "viewers read only"
    other = app.test_client()
    login(other, "olga")
    mairie_alert = db.execute("SELECT id FROM alerts WHERE site = 'mairie'").fetchone()[0]
    assert post_form(other, "/alerts", f"/alerts/{mairie_alert}/ack", {}).status_code == 404
    assert post_form(other, "/alerts", f"/alerts/{mairie_alert}/comments", {"text": "vu"}).status_code == 404
    assert db.execute("SELECT acked_by FROM alerts WHERE id = ?", [mairie_alert]).fetchone()[0] is None
    fleet = other.get("/fleet").get_data(as_text=True)
    assert 'data-testid="fleet-alerts"' in fleet
    assert "Autre commune : la borne « ailleurs-borne-1 » ne donne plus de nouvelles depuis" in html.unescape(fleet)
    assert "Mairie" not in fleet


# -- in a real browser -------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    path = tmp_path / "collector.db"
    db = connect(path)
    seed_alerts(db)
    quick_user(db, "manon", "manager", ("org:ville",))
    quick_user(db, "alice", "admin")
    db.close()
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "alerts-tests", "SESSION_COOKIE_SECURE": False,
                      "START_LIVE": False})
    web = WebServer(app, "127.0.0.1", 0)
    web.start()
    yield web
    web.stop()


def _login(browser, server, user: str):  # type: ignore[no-untyped-def]
    page = open_page(browser, 1280, 900)
    page.goto(f"{server.url}/alerts")
    page.get_by_label("Identifiant").fill(user)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{server.url}/alerts")
    return page


def test_a_manager_acknowledges_and_comments_an_alert_in_the_browser(browser, server, artifacts):
    page = _login(browser, server, "manon")
    card = page.locator("article.alert").filter(has_text="Mairie")
    assert "4 réponses sur 4 (100 %) sont des visages du bas" in card.inner_text()
    assert page.locator("article.alert").count() == 1, "the other organisation's alert is not shown"
    with page.expect_navigation():
        card.get_by_role("button", name="Je prends en compte").click()
    card = page.locator("article.alert").filter(has_text="Mairie")
    assert "Pris en compte par manon le" in card.get_by_test_id("alert-ack").inner_text()
    card.get_by_role("textbox", name="Commentaire").fill("Nouvel agent à l'accueil cette semaine")
    with page.expect_navigation():
        card.get_by_role("button", name="Commenter").click()
    comments = page.locator("article.alert").filter(has_text="Mairie").locator("ul.comments")
    assert "manon" in comments.inner_text() and "Nouvel agent à l'accueil cette semaine" in comments.inner_text()
    page.screenshot(path=str(artifacts / "alerts-1280.png"), full_page=True)
    assert axe_violations(page) == []
    page.goto(f"{server.url}/alerts?lang=en")
    assert "4 of 4 answers (100%) are bottom faces" in page.locator("article.alert").inner_text()
    page.context.close()


def test_the_rules_admin_page_passes_axe(browser, server, artifacts):
    page = _login(browser, server, "alice")
    page.goto(f"{server.url}/admin/alerts")
    page.locator("#unhappy_share-share_pct").fill("150")
    with page.expect_navigation():
        page.get_by_test_id("new-rule-unhappy_share").get_by_role("button", name="Ajouter cette règle").click()
    error = page.get_by_test_id("error-share_pct")
    assert error.inner_text() == "part des visages du bas (%) : 150 n'est pas entre 1 et 100"
    assert page.locator("#unhappy_share-share_pct").get_attribute("aria-describedby") == error.get_attribute("id")
    page.screenshot(path=str(artifacts / "admin-alerts-1280.png"), full_page=True)
    assert axe_violations(page) == []
    page.context.close()


def test_ids_past_64_bits_are_unknown_not_a_server_error(client, admin_headers, db):
    huge = 2 ** 70
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)(f"/api/v1/alert-rules/{huge}", headers=admin_headers, json={})
        assert response.status_code == 404, method
    quick_user(db, "alice", "admin")
    login(client, "alice")
    assert post_form(client, "/alerts", f"/alerts/{huge}/ack", {}).status_code == 404
    assert post_form(client, "/alerts", f"/alerts/{huge}/comments", {"text": "x"}).status_code == 404
    assert post_form(client, "/admin/alerts", f"/admin/alerts/{huge}/enabled", {}).status_code == 404
    assert post_form(client, "/admin/alerts", f"/admin/alerts/{huge}/delete", {}).status_code == 404


# -- delivery failures on the alerts page ---------------------------------------------


@pytest.fixture
def failing_server(tmp_path):
    """The alerts of seed_alerts, whose e-mails found the SMTP server down (nothing listens on its port)."""
    path = tmp_path / "collector.db"
    db = connect(path)
    seed_alerts(db)
    set_email(db, quick_user(db, "manon", "manager", ("org:ville",)), "manon@ville.example.fr")
    set_email(db, quick_user(db, "olga", "manager", ("org:autre",)), "olga@autre.example.fr")
    quick_user(db, "victor", "viewer", ("org:ville",))
    # A webhook whose URL carries its token, as Slack's and Teams' do; nothing listens there either.
    add_webhook(db, f"http://127.0.0.1:{free_port()}/hooks/T0KEN-s3cret-in-the-path", "org:ville",
                now=utc_now())
    down = SmtpServer(tmp_path, port=free_port())
    assert run_delivery_once(db, from_env(down.env(RESSENTI_ALERTS_HOLD_S="0"))).failed == 3
    db.close()
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "alerts-tests", "SESSION_COOKIE_SECURE": False,
                      "START_LIVE": False})
    web = WebServer(app, "127.0.0.1", 0)
    web.start()
    yield web
    web.stop()


def test_a_manager_sees_the_undelivered_messages_of_their_sites_only(browser, failing_server, artifacts):
    page = _login(browser, failing_server, "manon")
    block = page.get_by_test_id("delivery-failures")
    assert block.get_by_role("heading").inner_text() == "Messages non remis (2)"
    assert "webhook · 127.0.0.1" in block.inner_text() and "T0KEN" not in page.content(), "a webhook by its host"
    (row,) = block.locator("tbody tr").filter(has_text="e-mail").all()
    text = row.inner_text()
    assert "e-mail · manon" in text and "Mairie" in text and "en cours, réessayé" in text
    assert "Connection refused" in text or "refused" in text.lower(), text
    assert "olga" not in block.inner_text() and "Autre commune" not in block.inner_text()
    page.screenshot(path=str(artifacts / "alerts-delivery-failures-1280.png"), full_page=True)
    assert axe_violations(page) == []
    page.goto(f"{failing_server.url}/alerts?lang=en")
    assert "Undelivered messages (2)" in page.get_by_test_id("delivery-failures").inner_text()
    page.context.close()
    viewer = _login(browser, failing_server, "victor")
    assert viewer.get_by_test_id("delivery-failures").count() == 0, "viewers do not see delivery"
    viewer.context.close()


def test_an_alert_and_its_comments_stay_with_their_period_on_the_dashboard(client, db):
    seed_alerts(db)
    quick_user(db, "manon", "manager", ("org:ville",))
    mairie_alert = db.execute("SELECT id FROM alerts WHERE site = 'mairie'").fetchone()[0]
    db.execute("INSERT INTO alert_comments (alert_id, user_id, at, text) VALUES (?, NULL, ?, ?)",
               [mairie_alert, db.execute("SELECT opened_at FROM alerts WHERE id = ?", [mairie_alert]).fetchone()[0],
                "Nouvel agent à ce guichet cette semaine"])
    login(client, "manon")
    today = utc_now().date()
    page = html.unescape(client.get(f"/dashboard?scope=org:ville&from={today - timedelta(days=1)}&to={today}")
                         .get_data(as_text=True))
    panel = page.split('data-testid="period-alerts"', 1)[1].split("</section>", 1)[0]
    assert "Mairie" in panel and "4 réponses sur 4 (100 %)" in panel
    assert "Nouvel agent à ce guichet cette semaine" in panel
    assert "Autre commune" not in panel, "an alert of a site out of the scope"
    earlier = html.unescape(client.get(f"/dashboard?scope=org:ville&from={today - timedelta(days=60)}"
                                       f"&to={today - timedelta(days=30)}").get_data(as_text=True))
    assert "Aucune alerte sur la période." in earlier and "Nouvel agent" not in earlier
