"""Issue 15 in a real headless Chromium: an agent answers on the staff page with a slip's code (a reused
code refused), and a manager reads the team's barometer beside the users' satisfaction; axe-core scans."""

from __future__ import annotations

from datetime import datetime

import pytest
from web_support import PASSWORD, Press, axe_violations, open_page, quick_user, store_presses

from collector.barometer.answers import submit
from collector.barometer.codes import new_codes
from collector.barometer.settings import save_settings
from collector.barometer.teams import save_team
from collector.barometer.weeks import period_days, recent_periods, week_monday, week_of
from collector.db import connect
from collector.registry import add_kiosk, add_site
from collector.service import WebServer
from collector.web import create_app
from collector.web.scope import DEFAULT_ZONE

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp("barometer") / "collector.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    add_kiosk(db, "mairie-borne-1", "mairie")
    save_settings(db, "ville", enabled=True)
    team = save_team(db, "accueil", "Accueil de la mairie", ["mairie"])
    quick_user(db, "manon", "manager", ("site:mairie",))
    today = datetime.now(DEFAULT_ZONE).date()
    weeks = recent_periods("week", today, 8)
    shown, small = weeks[-1], weeks[-5]
    for week, n in ((shown, 6), (small, 4)):
        for code in new_codes(db, team, week, n):
            submit(db, team.id, code, {"semaine": "4", "charge": "1"}, week_monday(week))
    first, _ = period_days("week", shown)
    presses = [Press(datetime(first.year, first.month, first.day, 10, i, tzinfo=DEFAULT_ZONE), 4 if i % 4 else 1)
               for i in range(40)]
    store_presses(db, "mairie-borne-1", "mairie", presses)
    code = new_codes(db, team, week_of(today), 1)[0]
    db.close()
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "barometer-tests", "SESSION_COOKIE_SECURE": False})
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    server.code, server.shown, server.small = code, shown, small  # type: ignore[attr-defined]
    yield server
    server.stop()


def test_an_agent_answers_once_with_a_slip(browser, site, artifacts):
    page = open_page(browser, 390, 844)
    page.goto(f"{site.url}/equipe/accueil?code={site.code}")
    assert page.get_by_label("Code du papier (12 caractères)").input_value() == site.code
    page.get_by_role("group", name="Ma charge de travail était tenable.").get_by_label("Plutôt non").check()
    page.get_by_role("group", name="Dans l'ensemble, ma semaine").get_by_label("Tout à fait").check()
    assert axe_violations(page) == []
    page.screenshot(path=str(artifacts / "barometer-staff-phone.png"), full_page=True)
    page.get_by_role("button", name="Envoyer").click()
    assert "Merci, votre réponse compte" in page.get_by_test_id("thanks").inner_text()
    page.goto(f"{site.url}/equipe/accueil?code={site.code}")
    page.get_by_role("button", name="Envoyer").click()
    assert "aucune question" in page.get_by_test_id("refusal").inner_text()
    page.get_by_role("group", name="Ma charge de travail était tenable.").get_by_label("Plutôt oui").check()
    page.get_by_role("button", name="Envoyer").click()
    assert "déjà servi" in page.get_by_test_id("refusal").inner_text()


def test_a_manager_sees_the_barometer_beside_satisfaction_and_nothing_of_four(browser, site, artifacts):
    page = open_page(browser, 1440, 900)
    page.goto(f"{site.url}/dashboard/barometer")
    page.get_by_label("Identifiant").fill("manon")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{site.url}/dashboard/barometer")
    shown = page.get_by_test_id(f"period-{site.shown}").inner_text()
    small = page.get_by_test_id(f"period-{site.small}").inner_text()
    assert "100" in shown and "+50" in shown  # agents: 6 of 6 felt the week went well; users: 30-10 of 40
    assert "Pas assez de réponses" in small and "%" not in small.split("\t")[1]
    assert page.get_by_test_id("reading").inner_text()
    assert axe_violations(page) == []
    page.screenshot(path=str(artifacts / "barometer-manager.png"), full_page=True)
