"""The survey in a real headless Chromium (issue 14): phone viewport, axe, keyboard, double submit, reload."""

from __future__ import annotations

import json

import pytest
from web_support import axe_violations, open_page

from collector.config_push import DEFAULT_FOLLOWUP
from collector.db import connect
from collector.registry import add_kiosk, add_site
from collector.service import WebServer
from collector.survey.form import set_comments
from collector.survey.links import create_link
from collector.web import create_app

pytestmark = pytest.mark.browser
PHONE = (390, 844)


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    path = tmp_path_factory.mktemp("survey") / "collector.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie de Démo")
    add_kiosk(db, "borne-1", "mairie")
    settings = {"v": 1, "rev": 1, "scale": 4, "question_id": "overall", "followup": DEFAULT_FOLLOWUP,
                "question": {"fr": "Comment s'est passé votre accueil ?", "en": "How was your visit?"}}
    db.conn.execute("INSERT INTO kiosk_config (kiosk, site, rev, settings, pushed_at, pushed_by) VALUES"
                    " ('borne-1', 'mairie', 1, ?, '2026-01-01T00:00:00.000Z', 't')", (json.dumps(settings),))
    set_comments(db, "mairie", True)
    link = create_link(db, "mairie", "web", desk="Accueil état civil")
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "survey-tests", "SESSION_COOKIE_SECURE": False})
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    yield server, db, link
    server.stop()
    db.close()


def rows(db) -> int:
    return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]


def test_survey_pages_pass_axe_on_a_phone(browser, survey, artifacts):
    server, db, link = survey
    page = open_page(browser, *PHONE)
    found = {}
    page.goto(f"{server.url}/s/{link.slug}")
    for name in ("survey", "followup", "thanks"):
        page.screenshot(path=str(artifacts / f"survey-{name}-{PHONE[0]}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
        if violations := axe_violations(page):
            found[name] = violations
        if name == "survey":
            page.get_by_role("button", name="Pas bien du tout").click()
        elif name == "followup":
            page.get_by_role("button", name="Temps d'attente").click()
    assert found == {}
    assert page.get_by_test_id("thanks").is_visible()
    page.context.close()


def test_keyboard_without_javascript_double_submit_and_reload_count_once(browser, survey):
    server, db, link = survey
    before = rows(db)
    context = browser.new_context(viewport={"width": PHONE[0], "height": PHONE[1]}, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server.url}/s/{link.slug}")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="How was your visit?").is_visible()
    page.get_by_label("A comment?").fill("Très bien, merci ; joignable au 06 11 22 33 44")
    page.get_by_role("button", name="Very good").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/merci**")
    page.reload()  # the thank-you page again: nothing more
    assert rows(db) == before + 1
    assert db.execute("SELECT text FROM survey_comments ORDER BY id DESC").fetchone()[0].endswith("[téléphone masqué]")
    assert db.execute("SELECT channel, lang FROM events ORDER BY received_at DESC").fetchone() == ("web", "en")
    assert context.cookies() == [], "a citizen gets no cookie"
    context.close()


def test_a_double_tap_and_a_resent_form_count_once(browser, survey):
    """Two POSTs of one form (a double tap, or the browser resending it on reload): one row."""
    server, db, link = survey
    before = rows(db)
    page = open_page(browser, *PHONE)
    page.goto(f"{server.url}/s/{link.slug}")
    statuses = page.evaluate("""async () => {
        const body = new URLSearchParams(new FormData(document.querySelector('form.survey')));
        body.set('rating', '3');
        const send = () => fetch(location.pathname, {method: 'POST', body, redirect: 'manual'});
        const both = await Promise.all([send(), send()]);
        const third = await send();
        return [...both, third].map(r => r.type === 'opaqueredirect' ? 303 : r.status);
    }""")
    assert statuses == [303, 303, 303]
    assert rows(db) == before + 1
    page.context.close()
