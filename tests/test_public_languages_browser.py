"""The public results page in each shipped language, in a real headless Chromium: lang and dir on
<html>, the catalogue's words, axe clean, no sideways scroll, and Arabic laid out right to left
(screenshots in the test artifacts: public-lang-<lang>-<width>.png)."""

from __future__ import annotations

import pytest
from test_public_browser import DESKTOP, PHONE, site  # noqa: F401 (the module's collector fixture)
from web_support import axe_violations, open_page

from ressenti.i18n import LANGUAGE_NAMES, LANGUAGES, gettext

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_on_a_phone(browser, site, artifacts, lang):  # noqa: F811
    page = open_page(browser, *PHONE)
    response = page.goto(f"{site.url}/resultats/mairie-centre?lang={lang}")
    assert response.status == 200
    html = page.locator("html")
    assert html.get_attribute("lang") == lang
    assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
    assert page.evaluate("getComputedStyle(document.body).direction") == ("rtl" if lang == "ar" else "ltr")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith(gettext(lang, "Your opinion of our welcome"))
    assert page.get_by_role("heading", name=gettext(lang, "Month by month")).is_visible()
    # The switch offers all six, each named in its own language, the current one marked.
    switch = page.get_by_test_id("languages")
    for other in LANGUAGES:
        link = switch.get_by_role("link", name=LANGUAGE_NAMES[other])
        assert link.get_attribute("hreflang") == other
        assert (link.get_attribute("aria-current") == "true") == (other == lang)
    page.screenshot(path=str(artifacts / f"public-lang-{lang}-{PHONE[0]}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE[0], f"{lang}: scrolls sideways ({width} px)"
    assert axe_violations(page) == []
    page.context.close()


def test_arabic_mirrors_the_layout(browser, site, artifacts):  # noqa: F811
    """In Arabic the language switch sits at the inline start's opposite (left), table headers start at
    the right, and the notes' border is on the right: CSS logical properties, no second stylesheet."""
    boxes = {}
    for lang in ("fr", "ar"):
        page = open_page(browser, *DESKTOP)
        page.goto(f"{site.url}/resultats/mairie-centre?lang={lang}")
        switch = page.get_by_test_id("languages").bounding_box()
        month_header = page.get_by_test_id("months").locator("thead th").first.bounding_box()
        table = page.get_by_test_id("months").bounding_box()
        note_border = page.evaluate(
            "(() => { const s = getComputedStyle(document.querySelector('.note'));"
            " return [s.borderLeftWidth, s.borderRightWidth]; })()")
        boxes[lang] = (switch, month_header, table, note_border)
        page.screenshot(path=str(artifacts / f"public-lang-{lang}-rtl-check-{DESKTOP[0]}.png"), full_page=True)
        page.context.close()
    (fr_switch, fr_th, fr_table, fr_note), (ar_switch, ar_th, ar_table, ar_note) = \
        boxes["fr"], boxes["ar"]
    assert fr_switch["x"] > DESKTOP[0] / 2 and ar_switch["x"] + ar_switch["width"] < DESKTOP[0] / 2
    # The first column of the table is at the left in French, at the right in Arabic.
    assert fr_th["x"] - fr_table["x"] < 5
    assert (ar_table["x"] + ar_table["width"]) - (ar_th["x"] + ar_th["width"]) < 5
    assert fr_note == ["5px", "0px"] and ar_note == ["0px", "5px"]
