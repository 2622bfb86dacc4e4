"""The wall display in a real headless Chromium, fed by the real ingest path on a real Mosquitto."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from web_support import Press, axe_violations, open_page, store_presses

from collector.db import connect
from collector.registry import add_kiosk, add_site
from collector.tokens import revoke_token
from collector.walls import create_wall
from ressenti.protocol import utc_now

pytestmark = [pytest.mark.browser, pytest.mark.mosquitto]


def wall_token(stack, subject: str = "mairie") -> tuple[int, str]:
    db = connect(stack.db_path)
    token, secret = create_wall(db, subject, "test")
    db.close()
    return token.id, secret


def count_is(page, site: str, rating: int, value: int, timeout: float = 5000) -> None:
    page.wait_for_function(
        f"document.querySelector('[data-testid=count-{site}-{rating}]')?.textContent === '{value}'", timeout=timeout)


def test_a_press_reaches_the_wall_within_a_second(browser, collector_stack, kiosk_factory, mosquitto, wait,
                                                  artifacts):
    collector_stack.register("borne-1")
    collector_stack.start()
    k = kiosk_factory("borne-1", mosquitto.address)
    wait(k.link.connected.is_set, what="kiosk connected")
    _, secret = wall_token(collector_stack)

    page = open_page(browser, 1920, 1080)
    page.goto(f"{collector_stack.web.url}/wall/{secret}")
    total = page.get_by_test_id("total-mairie")
    total.wait_for()
    assert total.inner_text() == "0"
    assert page.get_by_text("Très bien").count() == 1
    kiosks = "document.querySelector('[data-testid=kiosks-mairie]').textContent"
    page.wait_for_function(f"{kiosks}.includes('1 borne en ligne')", timeout=10000)

    started = time.monotonic()
    k.press(1)  # best face
    count_is(page, "mairie", 4, 1, timeout=1000)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"the wall showed the press after {elapsed:.3f} s"
    assert total.inner_text() == "1"
    assert page.get_by_test_id("rate-mairie").inner_text().startswith("100")
    assert page.locator(".face.pulse[data-rating='4']").count() == 1, "the pressed face pulses"
    assert "Dernière réponse à" in page.get_by_test_id("last-mairie").inner_text()
    page.wait_for_timeout(1500)  # let the pulse settle for the picture
    page.screenshot(path=str(artifacts / "wall-1920x1080.png"))
    assert axe_violations(page) == []

    k.link.stop()  # a clean stop says offline: the wall says so in words, not only in colour
    page.wait_for_function(f"{kiosks}.includes('1 borne hors ligne')", timeout=10000)
    page.context.close()


def test_revoked_token_loses_the_stream(browser, collector_stack, wait, artifacts):
    collector_stack.start()
    token_id, secret = wall_token(collector_stack)
    page = open_page(browser, 1280, 720)
    page.goto(f"{collector_stack.web.url}/wall/{secret}")
    page.get_by_test_id("total-mairie").wait_for()
    hub = collector_stack.web.app.extensions["ressenti_live"]
    assert hub.subscriber_count == 1

    # Revoked by another process (the CLI, another gunicorn worker): this one notices by itself.
    db = connect(collector_stack.db_path)
    revoke_token(db, token_id)
    db.close()
    page.get_by_test_id("invalid").wait_for(state="visible", timeout=6000)
    assert "Ce lien n'est plus valide" in page.get_by_test_id("invalid").inner_text()
    assert page.locator("#sites").is_hidden()
    wait(lambda: hub.subscriber_count == 0, timeout=5, what="the stream to end")
    client = collector_stack.web.app.test_client()
    assert client.get(f"/wall/{secret}/check").status_code == 410
    assert client.get(f"/wall/{secret}/stream").status_code == 410
    assert client.get(f"/wall/{secret}").status_code == 410
    page.screenshot(path=str(artifacts / "wall-revoked.png"))
    assert axe_violations(page) == []
    page.context.close()


def test_a_wall_that_was_cut_off_reconnects_and_catches_up(browser, collector_stack, kiosk_factory, mosquitto,
                                                          wait, artifacts):
    collector_stack.register("borne-1")
    collector_stack.start()
    k = kiosk_factory("borne-1", mosquitto.address)
    wait(k.link.connected.is_set, what="kiosk connected")
    _, secret = wall_token(collector_stack)
    page = open_page(browser, 1280, 720)
    page.goto(f"{collector_stack.web.url}/wall/{secret}")
    page.get_by_test_id("total-mairie").wait_for()

    # The network goes away: streams are cut and the display cannot reach the server.
    page.route("**/check", lambda route: route.abort())
    collector_stack.web.app.extensions["ressenti_live"].disconnect_all()
    page.get_by_test_id("reconnecting").wait_for(state="visible", timeout=5000)
    assert "Reconnexion" in page.get_by_test_id("reconnecting").inner_text()
    for position in (1, 1, 4):
        k.press(position)
    wait(lambda: collector_stack.summary()["total"] == 3, what="presses stored while the wall is away")
    page.wait_for_timeout(2500)  # a retry or two fails meanwhile
    assert page.get_by_test_id("total-mairie").inner_text() == "0"

    page.unroute("**/check")
    page.get_by_test_id("reconnecting").wait_for(state="hidden", timeout=10000)
    count_is(page, "mairie", 4, 2)
    count_is(page, "mairie", 1, 1)
    assert page.get_by_test_id("total-mairie").inner_text() == "3"
    page.context.close()


def test_trend_against_the_same_weekday(browser, collector_stack, artifacts):
    now = utc_now()
    db = connect(collector_stack.db_path)
    # The four previous same weekdays, at this hour: half satisfied. Today: all satisfied.
    history = [Press(now - timedelta(weeks=w), rating) for w in range(1, 5) for rating in (4, 1)]
    add_kiosk(db, "borne-h", "mairie")
    store_presses(db, "borne-h", "mairie", sorted(history, key=lambda p: p.when) + [Press(now, 4)])
    db.close()
    collector_stack.start()
    _, secret = wall_token(collector_stack)
    page = open_page(browser, 1280, 720)
    page.goto(f"{collector_stack.web.url}/wall/{secret}")
    trend = page.get_by_test_id("trend-mairie")
    trend.wait_for()
    text = trend.inner_text()
    assert "▲" in text and "+50" in text, text
    assert "4 derniers" in text and "même heure" in text and "50" in text
    page.context.close()


def test_many_sites_rotate_in_english(browser, collector_stack, artifacts):
    db = connect(collector_stack.db_path)
    for n in range(1, 8):
        add_site(db, f"site-{n}", f"Accueil {n}", org="default", scale=3 + n % 3)
    db.close()
    collector_stack.start()
    _, secret = wall_token(collector_stack, "default")  # an organisation: all eight sites
    page = open_page(browser, 1920, 1080)
    page.goto(f"{collector_stack.web.url}/wall/{secret}?lang=en&rotate=3")
    pager = page.locator("#pager")
    pager.wait_for(state="visible")
    assert page.locator("html").get_attribute("lang") == "en"
    assert pager.inner_text() == "Sites 1–3 of 8"  # three at a time, readable from 3 m
    assert page.locator(".site:visible").count() == 3
    assert page.get_by_text("Very good").count() >= 1
    page.screenshot(path=str(artifacts / "wall-en-8-sites-1920x1080.png"))
    page.wait_for_function("document.getElementById('pager').textContent === 'Sites 7–8 of 8'", timeout=10000)
    assert page.locator(".site:visible").count() == 2
    page.context.close()
