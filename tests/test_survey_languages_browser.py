"""The web survey on a phone in Chromium in each shipped language, and its Arabic page right to left
(screenshots: survey-<lang>-390.png in the test artifacts)."""

from __future__ import annotations

import pytest
from web_support import axe_violations, open_page

from collector.db import connect
from collector.registry import add_kiosk, add_site
from collector.service import WebServer
from collector.survey.links import create_link
from collector.web import create_app
from ressenti.faces import label
from ressenti.i18n import LANGUAGES, gettext

pytestmark = pytest.mark.browser
PHONE = (390, 844)


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    path = tmp_path_factory.mktemp("survey-lang") / "collector.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie")
    add_kiosk(db, "borne-1", "mairie")
    slug = create_link(db, "mairie", "web").slug
    db.close()
    server = WebServer(create_app({"DATABASE": str(path), "SECRET_KEY": "survey-lang", "SESSION_COOKIE_SECURE": False}),
                       "127.0.0.1", 0)
    server.start()
    yield server, slug
    server.stop()


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_survey_in_each_language_on_a_phone(browser, survey, artifacts, lang):
    server, slug = survey
    page = open_page(browser, *PHONE)
    assert page.goto(f"{server.url}/s/{slug}?lang={lang}").status == 200
    assert page.locator("html").get_attribute("lang") == lang
    assert page.locator("html").get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    # No question pushed: the catalogue's default question, in this language.
    assert page.get_by_role("heading", level=1).inner_text() == gettext(lang, "How was your visit?")
    for rating in (1, 4):
        assert label(4, rating, lang) in page.get_by_test_id(f"face-{rating}").inner_text()
    page.screenshot(path=str(artifacts / f"survey-{lang}-{PHONE[0]}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    assert axe_violations(page) == []
    if lang == "ar":
        heading = page.get_by_role("heading", level=1).bounding_box()
        assert heading["x"] + heading["width"] > PHONE[0] - 40  # starts at the right edge
    page.get_by_test_id("face-4").click()
    page.wait_for_url("**/merci**")
    assert page.get_by_test_id("thanks").inner_text() == gettext(lang, "Thank you for your feedback!")
    page.context.close()
