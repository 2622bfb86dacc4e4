"""The wall display's layout in a real headless Chromium: readable from 3 metres, nothing out of its tile.

Screenshots go to test-artifacts/wall-layout-*.png. The page is fed by a real web server on
127.0.0.1 (no broker: the layout needs the snapshot only; live behaviour is test_wall_browser's).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from web_support import Press, axe_violations, open_page, store_presses

from collector.alerts.rules import Kind
from collector.alerts.store import Finding, raise_alert
from collector.db import connect, write_transaction
from collector.fleet import record_status
from collector.registry import add_kiosk, add_site
from collector.service import WebServer
from collector.walls import create_wall
from collector.web import create_app
from ressenti.protocol import format_ts, utc_now

pytestmark = pytest.mark.browser

SECONDARY = ".label, .share, .kiosks > span, .last, .trend small, .net, .rate-label, .thanks"
# Every element of a visible tile must sit inside the tile; text that can be cut (one line with an
# ellipsis, or clamped to two lines) must not be, on a real screen.
PROBE = """(secondary) => {
  const out = {tiles: 0, overflow: [], cut: [], offscreen: [], fonts: [], scrollX: 0};
  const name = (el) => el.className.baseVal !== undefined ? el.tagName : `${el.tagName}.${el.className}`;
  for (const tile of document.querySelectorAll('.site:not([hidden])')) {
    out.tiles += 1;
    const box = tile.getBoundingClientRect();
    if (!document.body.classList.contains('scroll') &&
        (box.right > innerWidth + 1 || box.bottom > innerHeight + 1 || box.left < -1 || box.top < -1))
      out.offscreen.push(tile.dataset.site);
    for (const el of tile.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (!r.width && !r.height) continue;
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1)
        out.overflow.push(`${tile.dataset.site}: ${name(el)} ${JSON.stringify([r.left, r.top, r.right, r.bottom])}`
                          + ` outside ${JSON.stringify([box.left, box.top, box.right, box.bottom])}`);
    }
    // The tile's parts: none overlaps another, none is too small for what it holds.
    const parts = [...(tile.querySelector('.tile') || tile).children].filter((el) => el.offsetParent !== null);
    parts.forEach((el, i) => {
      const r = el.getBoundingClientRect();
      if (el.scrollHeight > el.clientHeight + 1)
        out.overflow.push(`${tile.dataset.site}: ${name(el)} holds more than it shows`);
      for (const other of parts.slice(i + 1)) {
        const s = other.getBoundingClientRect();
        if (r.left < s.right - 1 && s.left < r.right - 1 && r.top < s.bottom - 1 && s.top < r.bottom - 1)
          out.overflow.push(`${tile.dataset.site}: ${name(el)} overlaps ${name(other)}`);
      }
    });
    for (const el of tile.querySelectorAll('h2, .label, .share, .count, .kiosks > span, .last, .net, .thanks,'
                                           + ' .trend small, .rate-value, .answers-value, .fine')) {
      const style = getComputedStyle(el);
      if (el.offsetParent === null || style.overflowX === 'visible') continue;  // only what clips can cut
      const clamped = style.webkitLineClamp !== 'none';
      if (el.scrollWidth > el.clientWidth + 1 || (clamped && el.scrollHeight > el.clientHeight + 1))
        out.cut.push(`${tile.dataset.site}: ${name(el)} "${el.textContent.trim()}" ${el.scrollWidth}>${el.clientWidth}`
                     + ` ${el.scrollHeight}>${el.clientHeight}`);
    }
    for (const el of tile.querySelectorAll(secondary))
      if (el.offsetParent !== null) out.fonts.push(parseFloat(getComputedStyle(el).fontSize));
  }
  out.scrollX = document.documentElement.scrollWidth - innerWidth;
  return out;
}"""


def probe(page: Any) -> dict[str, Any]:
    return page.evaluate(PROBE, SECONDARY)


def overlaps(page: Any, a: str, b: str) -> bool:
    return page.evaluate("""([a, b]) => {
      const r = document.querySelector(a).getBoundingClientRect();
      const s = document.querySelector(b).getBoundingClientRect();
      return r.left < s.right && s.left < r.right && r.top < s.bottom && s.top < r.bottom;
    }""", [a, b])


def online(db: Any, kiosk: str, site: str) -> None:
    record_status(db, kiosk, site, json.dumps({"v": 1, "state": "online"}).encode(), utc_now())


# Kiosk ids that must never be seen on screen (labels may be).
RAW_IDS = ["mairie-k1", "mairie-k2", "mairie-k3", "ccas-k1", "fsn-k1", "fsn-k2", "annexe-k1"]


def seed(db: Any) -> None:
    """Three sites: a good day with a kiosk offline, two kiosks offline (one labelled, one not), a 5-face site."""
    now = utc_now()
    add_site(db, "mairie", "Mairie de Villeneuve-lès-Avignon — accueil central", scale=4)
    add_site(db, "ccas", "CCAS — solidarités", scale=3)
    add_site(db, "fsn", "France Services Nord", scale=5)
    add_kiosk(db, "mairie-k1", "mairie", "Hall d'entrée")
    add_kiosk(db, "mairie-k2", "mairie", "Guichet état civil et passeports, rez-de-chaussée")
    add_kiosk(db, "mairie-k3", "mairie")  # no label: shown by its place, never by its id
    add_kiosk(db, "ccas-k1", "ccas")
    add_kiosk(db, "fsn-k1", "fsn")
    add_kiosk(db, "fsn-k2", "fsn", "Borne tactile")
    online(db, "mairie-k1", "mairie")
    online(db, "ccas-k1", "ccas")
    online(db, "fsn-k1", "fsn")
    online(db, "fsn-k2", "fsn")
    # Today so far: the mairie has a good day (thanks), the CCAS an ordinary one with a burst set aside.
    earlier = now - timedelta(minutes=10)
    past = [Press(now - timedelta(weeks=w, minutes=m), 4 if m % 3 else 1)  # a trend to compare with
            for w in range(4, 0, -1) for m in range(30, 0, -1)]
    store_presses(db, "mairie-k1", "mairie",
                  past + [Press(earlier + timedelta(seconds=0.4 * i), 4 if i % 10 else 2) for i in range(1234)])
    store_presses(db, "ccas-k1", "ccas", [Press(earlier + timedelta(seconds=30 * i), r)
                                          for i, r in enumerate([3, 1, 2, 3, 1, 1, 2, 3, 1, 2, 2, 3])]
                  + [Press(now - timedelta(seconds=5 - i), 3, flagged=True) for i in range(3)])
    store_presses(db, "fsn-k1", "fsn", [Press(earlier + timedelta(minutes=i), r) for i, r in
                                        enumerate([5, 4, 3, 2, 1, 5, 5, 4])])


@pytest.fixture
def wall_server(tmp_path: Path) -> Iterator[Any]:
    app = create_app({"DATABASE": str(tmp_path / "wall.db"), "BROKER_URL": None, "SECRET_KEY": secrets.token_hex(16)})
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    yield server
    server.stop()


def wall_url(server: Any, subject: str = "default", query: str = "") -> str:
    db = connect(server.app.config["DATABASE"])
    _, secret = create_wall(db, subject, "layout test")
    db.close()
    return f"{server.url}/wall/{secret}{query}"


def open_wall(browser: Any, url: str, width: int, height: int) -> Any:
    page = open_page(browser, width, height)
    page.emulate_media(reduced_motion="reduce")  # still pictures
    page.goto(url)
    page.locator(".site").first.wait_for()
    page.wait_for_function("document.fonts.status === 'loaded'")
    return page


def docs_picture(browser: Any, url: str, width: int, height: int, path: Path) -> None:
    """A half-scale picture for docs/img (small files; the layout is the same)."""
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=0.5,
                                  reduced_motion="reduce")
    page = context.new_page()
    page.goto(url)
    page.locator(".site").first.wait_for()
    page.wait_for_function("document.fonts.status === 'loaded'")
    page.screenshot(path=str(path), full_page=True)
    context.close()


def assert_fits(page: Any, *, min_font: float | None = None, uncut: bool = True) -> dict[str, Any]:
    found = probe(page)
    assert found["tiles"] > 0
    assert found["overflow"] == [], found["overflow"][:5]
    assert found["offscreen"] == []
    assert found["scrollX"] <= 0, "the page scrolls sideways"
    if uncut:
        assert found["cut"] == [], found["cut"]
    if min_font is not None:
        assert min(found["fonts"]) >= min_font, sorted(found["fonts"])[:5]
    text = page.evaluate("document.body.innerText")
    for raw in RAW_IDS:
        assert raw not in text, f"raw kiosk id {raw} on screen"
    return found


@pytest.fixture
def three_sites(wall_server: Any) -> str:
    db = connect(wall_server.app.config["DATABASE"])
    seed(db)
    db.close()
    return wall_url(wall_server)


def test_1080p_three_sites_side_by_side_readable_from_3_metres(browser, three_sites, artifacts):
    page = open_wall(browser, three_sites, 1920, 1080)
    assert page.locator(".site:visible").count() == 3
    tops = page.evaluate("[...document.querySelectorAll('.site')].map((e) => e.getBoundingClientRect().top)")
    assert len(set(tops)) == 1, "three sites side by side"
    assert_fits(page, min_font=28)
    # Two kiosks offline at the mairie: counted, then named one at a time (labels, or "borne 3").
    kiosks = page.get_by_test_id("kiosks-mairie")
    assert "2 bornes hors ligne" in kiosks.inner_text()
    seen = set()
    for _ in range(3):
        name = kiosks.locator(".k-name").inner_text()
        seen.add(name.split(" (")[0])
        page.wait_for_function("(name) => document.querySelector('[data-testid=kiosks-mairie] .k-name')"
                               ".textContent !== name", arg=name, timeout=6000)
    long_label = "Guichet état civil et passeports, rez-de-chaussée"
    assert seen == {long_label, "borne 3"}
    assert kiosks.locator(".k-off").get_attribute("title") == f"{long_label}, borne 3"
    # A good day at the mairie: thanked; an ordinary one at the CCAS: not.
    assert "Merci" in page.get_by_test_id("thanks-mairie").inner_text()
    assert page.get_by_test_id("thanks-ccas").is_hidden()
    # The set-aside presses are a footnote, not a headline.
    flagged = page.get_by_test_id("flagged-ccas")
    assert flagged.inner_text().endswith(": 3")
    assert float(flagged.evaluate("(e) => parseFloat(getComputedStyle(e).fontSize)")) < 28
    page.screenshot(path=str(artifacts / "wall-layout-1920x1080.png"))
    assert axe_violations(page) == []
    page.context.close()
    docs_picture(browser, three_sites, 1920, 1080, artifacts / "wall-1920x1080-half.png")


def test_reconnect_banner_leaves_the_title_alone(browser, three_sites, artifacts):
    for width, height in ((1920, 1080), (1280, 720), (1080, 1920), (390, 844)):
        page = open_wall(browser, three_sites, width, height)
        page.route("**/check", lambda route: route.abort())
        page.evaluate("window.__wallDrop()")
        banner = page.get_by_test_id("reconnecting")
        banner.wait_for(state="visible")
        assert not overlaps(page, "#banner", ".top h1"), f"the banner covers the title at {width}x{height}"
        assert not overlaps(page, "#banner", "#sites"), f"the banner covers the sites at {width}x{height}"
        if width == 1280:
            page.screenshot(path=str(artifacts / "wall-layout-reconnecting-1280x720.png"))
        page.context.close()


@pytest.mark.parametrize("width,height", [(1366, 768), (1280, 720), (1080, 1920)])
def test_other_screens_keep_every_tile_whole(browser, three_sites, artifacts, width, height):
    page = open_wall(browser, three_sites, width, height)
    assert page.locator(".site:visible").count() == 3
    assert_fits(page)
    if height > width:  # portrait: one under the other, full width
        lefts = page.evaluate("[...document.querySelectorAll('.site')].map((e) => e.getBoundingClientRect().left)")
        assert len(set(lefts)) == 1
    page.screenshot(path=str(artifacts / f"wall-layout-{width}x{height}.png"))
    page.context.close()
    if height > width:
        docs_picture(browser, three_sites, width, height, artifacts / f"wall-{width}x{height}-half.png")


def test_phone_lists_the_sites_and_scrolls(browser, three_sites, artifacts):
    page = open_wall(browser, three_sites, 390, 844)
    assert page.locator(".site:visible").count() == 3
    assert page.locator("#pager").is_hidden()
    found = assert_fits(page, min_font=14)
    assert found["scrollX"] <= 0
    assert page.evaluate("document.documentElement.scrollHeight") > 844, "the page scrolls down"
    page.screenshot(path=str(artifacts / "wall-layout-390-phone.png"), full_page=True)
    page.context.close()


@pytest.fixture
def many_sites(wall_server: Any) -> str:
    db = connect(wall_server.app.config["DATABASE"])
    seed(db)
    add_site(db, "annexe", "Mairie annexe Sud", scale=4)
    add_kiosk(db, "annexe-k1", "annexe")  # never heard of: offline
    for n in range(1, 5):
        add_site(db, f"site-{n}", f"Accueil de quartier n° {n}", scale=3 + n % 3)
    db.close()
    return wall_url(wall_server, query="?rotate=3")


@pytest.mark.parametrize("width,height,min_font", [(1920, 1080, 28), (1366, 768, None), (1080, 1920, None)])
def test_many_sites_take_turns_three_at_a_time(browser, many_sites, artifacts, width, height, min_font):
    page = open_wall(browser, many_sites, width, height)
    pager = page.locator("#pager")
    pager.wait_for(state="visible")
    assert pager.inner_text() == "Sites 1–3 sur 8"
    assert page.locator(".site:visible").count() == 3
    assert_fits(page, min_font=min_font)
    page.screenshot(path=str(artifacts / f"wall-layout-8-sites-{width}x{height}.png"))
    for expected in ("Sites 4–6 sur 8", "Sites 7–8 sur 8"):
        page.wait_for_function(f"document.getElementById('pager').textContent === '{expected}'", timeout=6000)
        assert_fits(page, min_font=min_font)
    assert page.locator(".site:visible").count() == 2
    page.context.close()


def test_thanks_counts_only_answers_the_filter_kept(browser, wall_server, artifacts):
    now = utc_now()
    db = connect(wall_server.app.config["DATABASE"])
    add_site(db, "stuffed", "Accueil A", scale=4)
    add_site(db, "earned", "Accueil B", scale=4)
    add_kiosk(db, "stuffed-k", "stuffed")
    add_kiosk(db, "earned-k", "earned")
    # 5 real answers, then a child pressing the best face 30 times: 97 % raw, but too few kept answers.
    store_presses(db, "stuffed-k", "stuffed", [Press(now - timedelta(minutes=5 - i), 4 if i % 2 else 1)
                                               for i in range(5)]
                  + [Press(now - timedelta(seconds=30 - i), 4, flagged=True) for i in range(30)])
    # Exactly the minimum (MIN_CELL, 10) at exactly 80 %: thanked.
    store_presses(db, "earned-k", "earned", [Press(now - timedelta(minutes=10 - i), 1 if i < 2 else 4)
                                             for i in range(10)])
    db.close()
    page = open_wall(browser, wall_url(wall_server, "stuffed,earned"), 1920, 1080)
    assert page.get_by_test_id("thanks-earned").inner_text() == "Merci ! 8 sur 10 satisfaits"
    assert page.locator(".site[data-site=earned]").evaluate("(e) => e.classList.contains('good-day')")
    assert page.get_by_test_id("thanks-stuffed").is_hidden()
    assert page.get_by_test_id("flagged-stuffed").inner_text().endswith(": 30")
    page.context.close()


def _open_fleet_alert(db: Any, kind: str, site: str, kiosk: str, since: Any) -> None:
    """An open fleet alert as the evaluator leaves it (its summary names the raw id: the wall must not)."""
    figures = {"offline_since": format_ts(since)} if kind == "kiosk_offline" else {"new_drops": 4, "dropped": 4}
    with write_transaction(db):
        raise_alert(db, Finding(Kind(kind), site, "default", kiosk, None, figures, f"{kiosk} : {kind}",
                                f"{kiosk}: {kind}", "/fleet"), format_ts(since))


def _wall_clock(moment: Any) -> str:
    """What the wall says for a moment: "10 h 12" today, "le 30/11 à 10 h 12" another day (Paris time)."""
    local, today = moment.astimezone(ZoneInfo("Europe/Paris")), utc_now().astimezone(ZoneInfo("Europe/Paris"))
    time = f"{local:%H} h {local:%M}"
    return time if local.date() == today.date() else f"le {local:%d/%m} à {time}"


def _turns(page: Any, testid: str, count: int) -> set[str]:
    """The texts a turning line shows over `count` turns."""
    line, seen = page.get_by_test_id(testid), set()
    for _ in range(count):
        text = line.inner_text()
        seen.add(text.split(" (")[0])
        page.wait_for_function("([id, text]) => document.querySelector(`[data-testid=${id}]`).textContent !== text",
                               arg=[testid, text], timeout=6000)
    return seen


@pytest.mark.parametrize("width,height", [(1920, 1080), (1366, 768)])
def test_open_fleet_alerts_in_plain_words_on_the_tile(browser, wall_server, artifacts, width, height):
    db = connect(wall_server.app.config["DATABASE"])
    seed(db)
    since = utc_now() - timedelta(minutes=50)
    _open_fleet_alert(db, "kiosk_offline", "mairie", "mairie-k2", since)
    _open_fleet_alert(db, "kiosk_offline", "mairie", "mairie-k3", since)
    _open_fleet_alert(db, "outbox_drops", "fsn", "fsn-k1", since)  # online, but its outbox overflowed
    db.close()
    page = open_wall(browser, wall_url(wall_server), width, height)
    assert_fits(page)
    when = _wall_clock(since)
    long_label = "Guichet état civil et passeports, rez-de-chaussée"
    assert _turns(page, "alerts-mairie", 3) == {f"Borne « {long_label} » hors ligne depuis {when}",
                                                 f"Borne 3 hors ligne depuis {when}"}
    assert page.get_by_test_id("alerts-fsn").inner_text() == \
        f"Borne 1 : mémoire pleine, des réponses effacées depuis {when}"
    assert "1 borne en ligne" not in page.get_by_test_id("kiosks-fsn").inner_text()
    assert "2 bornes en ligne" in page.get_by_test_id("kiosks-fsn").inner_text()
    assert page.get_by_test_id("alerts-ccas").count() == 0, "no alert, no line"
    assert_fits(page)
    page.screenshot(path=str(artifacts / f"wall-layout-alerts-{width}x{height}.png"))
    page.context.close()
    english = open_wall(browser, wall_url(wall_server, query="?lang=en"), width, height)
    assert english.get_by_test_id("alerts-fsn").inner_text().startswith("Kiosk 1: outbox full, answers dropped since")
    assert_fits(english)
    english.context.close()
