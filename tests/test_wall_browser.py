"""The wall display in a real headless Chromium: a press changes the count on screen."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_wall_shows_a_press_live(browser, collector_stack, kiosk_factory, mosquitto, wait, artifacts):
    collector_stack.register("borne-1")
    collector_stack.start()
    k = kiosk_factory("borne-1", mosquitto.address)
    wait(k.link.connected.is_set, what="kiosk connected")

    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(f"{collector_stack.web.url}/wall")
    total = page.get_by_test_id("total-mairie")
    count_best = page.get_by_test_id("count-mairie-4")
    total.wait_for()
    assert total.inner_text() == "0"
    assert page.get_by_text("Très bien").count() == 1

    k.press(1)  # best face
    page.wait_for_function(
        "document.querySelector('[data-testid=count-mairie-4]').textContent === '1'", timeout=5000)
    assert total.inner_text() == "1"
    assert count_best.inner_text() == "1"
    assert page.get_by_test_id("rate-mairie").inner_text().startswith("100")
    page.screenshot(path=str(artifacts / "wall-1920x1080.png"))
    page.close()


def test_wall_in_english(browser, collector_stack, artifacts):
    collector_stack.start()
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{collector_stack.web.url}/wall?lang=en")
    page.get_by_test_id("total-mairie").wait_for()
    assert page.get_by_text("Very good").count() == 1
    assert page.locator("html").get_attribute("lang") == "en"
    page.screenshot(path=str(artifacts / "wall-en-1280x720.png"))
    page.close()
