"""The dashboard in a real headless Chromium: login and roles, screenshots at desktop and phone widths,
and an axe-core scan of every page with no serious or critical violation."""

from __future__ import annotations

import json

import pytest
from web_support import DEMO_SITES, PASSWORD, axe_violations, open_page, quick_user, seed_history

from collector.db import connect
from collector.fleet import record_status
from collector.service import WebServer
from collector.walls import create_wall
from collector.web import create_app
from ressenti.protocol import utc_now

pytestmark = pytest.mark.browser

DESKTOP, PHONE = (1440, 900), (390, 844)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A collector web server on a month of history, with an admin and a viewer."""
    path = tmp_path_factory.mktemp("dashboard") / "collector.db"
    db = connect(path)
    seed_history(db)
    quick_user(db, "alice", "admin")
    quick_user(db, "victor", "viewer", ("org:demo-ville",))
    _, wall = create_wall(db, "demo-ville", "tests")
    for n, (site_id, *_) in enumerate(DEMO_SITES):
        record_status(db, f"{site_id}-borne-1", site_id, json.dumps({
            "v": 1, "state": "online", "ts": "2026-12-01T08:00:00Z", "version": "0.2.0", "config_rev": 0,
            "clock": "ntp", "queue": {"pending": n, "oldest_ts": None, "dropped": 0}, "temp_c": 48.5 + 10 * n,
            "disk_free_mb": 2400 - 700 * n, "uptime_s": 3600 * (5 + 20 * n),
            "faults": [{"kind": "storage", "message": "database or disk is full"}] if n == 3 else []}).encode(),
            utc_now())
    db.close()
    app = create_app({"DATABASE": str(path), "SECRET_KEY": "dashboard-tests", "SESSION_COOKIE_SECURE": False})
    server = WebServer(app, "127.0.0.1", 0)
    server.start()
    server.wall = wall  # type: ignore[attr-defined]
    yield server
    server.stop()


def logged_in(browser, site, user: str, size: tuple[int, int]):
    page = open_page(browser, *size)
    page.goto(f"{site.url}/dashboard")
    assert page.url.startswith(f"{site.url}/login?next=")
    page.get_by_label("Identifiant").fill(user)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{site.url}/dashboard")
    return page


def test_a_viewer_reads_the_dashboard_but_not_admin_pages(browser, site, artifacts):
    anonymous = open_page(browser, *DESKTOP)
    anonymous.goto(f"{site.url}/admin/users")
    assert "/login" in anonymous.url and anonymous.get_by_role("heading", name="Connexion").is_visible()
    anonymous.context.close()

    page = logged_in(browser, site, "victor", DESKTOP)
    assert page.get_by_test_id("kpi-total").inner_text() != "0"
    nav = page.get_by_role("navigation", name="Navigation principale")
    assert nav.get_by_role("link", name="Tableau de bord").is_visible()
    assert nav.get_by_role("link", name="Administration").count() == 0
    assert nav.get_by_role("link", name="Bornes").count() == 0
    response = page.goto(f"{site.url}/admin/sites")
    assert response.status == 403 and page.get_by_role("heading", name="Accès refusé").is_visible()
    page.screenshot(path=str(artifacts / "dashboard-403-viewer.png"))
    assert axe_violations(page) == []
    page.goto(f"{site.url}/dashboard")
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{site.url}/login")
    page.context.close()


PAGES = [("dashboard", "/dashboard"), ("dashboard-en", "/dashboard?lang=en&period=year"),
         ("dashboard-week", "/dashboard?period=week"), ("dashboard-last-month", "/dashboard?period=last-month"),
         ("dashboard-site", "/dashboard?scope=site:mairie-centre&period=7d"), ("fleet", "/fleet"),
         ("admin-sites", "/admin/sites?edit=mairie-centre"), ("admin-kiosks", "/admin/kiosks"),
         ("admin-walls", "/admin/walls"), ("admin-config", "/admin/config"), ("admin-users", "/admin/users")]


def test_every_page_at_desktop_width_passes_axe(browser, site, artifacts):
    page = logged_in(browser, site, "alice", DESKTOP)
    found = {}
    for name, path in PAGES:
        response = page.goto(f"{site.url}{path}")
        assert response.status == 200, path
        page.screenshot(path=str(artifacts / f"{name}-{DESKTOP[0]}.png"), full_page=True)
        found[path] = axe_violations(page)
    response = page.goto(f"{site.url}/dashboard?from=0001-01-01")
    assert response.status == 400
    page.screenshot(path=str(artifacts / f"dashboard-bad-date-{DESKTOP[0]}.png"), full_page=True)
    found["/dashboard?from=0001-01-01"] = axe_violations(page)
    login = open_page(browser, *DESKTOP)
    login.goto(f"{site.url}/login")
    found["/login"] = axe_violations(login)
    login.goto(f"{site.url}/wall/{site.wall}")
    login.get_by_test_id("total-mairie-centre").wait_for()
    found["/wall/<token>"] = axe_violations(login)
    login.goto(f"{site.url}/wall/rst_wall_revoked")
    found["/wall/<revoked>"] = axe_violations(login)
    login.context.close()
    page.context.close()
    assert {path: v for path, v in found.items() if v} == {}


def test_dashboard_and_fleet_on_a_phone(browser, site, artifacts):
    page = logged_in(browser, site, "alice", PHONE)
    for name, path in (("dashboard", "/dashboard"), ("dashboard-week", "/dashboard?period=week"),
                       ("dashboard-bad-date", "/dashboard?from=2099-01-01"), ("fleet", "/fleet"),
                       ("admin-sites", "/admin/sites"), ("admin-config", "/admin/config"), ("login", "/login")):
        page.goto(f"{site.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE[0], f"{path} scrolls sideways on a phone ({width} px)"
        page.screenshot(path=str(artifacts / f"{name}-phone-{PHONE[0]}.png"), full_page=True)
    assert axe_violations(page) == []
    page.context.close()


def visible_text(page) -> str:
    return page.evaluate("document.body.innerText")


def test_week_over_week_and_the_hours_profile(browser, site, artifacts):
    page = logged_in(browser, site, "alice", DESKTOP)
    page.goto(f"{site.url}/dashboard?period=week")
    assert page.locator("details.filters-box").evaluate("d => d.open"), "filters open on a wide screen"
    previous = page.get_by_test_id("kpi-previous").inner_text()
    assert previous.startswith("semaine précédente (") and "%" in previous, previous
    assert page.get_by_test_id("legend-previous").is_visible()
    assert page.locator("svg .previous-bar").count() > 0 and page.locator("svg .previous-point").count() > 0
    page.locator("section.kpis").screenshot(path=str(artifacts / "week-over-week-kpis.png"))
    page.locator("section[aria-labelledby=h-bars]").screenshot(path=str(artifacts / "week-over-week-bars.png"))
    page.locator("section[aria-labelledby=h-line]").screenshot(path=str(artifacts / "week-over-week-line.png"))
    page.goto(f"{site.url}/dashboard?period=last-week&scope=site:ccas-solidarites")
    profile = page.get_by_test_id("hour-profile")
    assert profile.is_visible() and "tous les jours" in profile.inner_text()
    assert "%" in profile.inner_text(), "pooled hours are shown where single days are not"
    assert page.get_by_test_id("wider-hint").is_visible(), "a week of a small site is mostly masked"
    page.locator("section[aria-labelledby=h-heat]").screenshot(path=str(artifacts / "hour-profile.png"))
    page.get_by_test_id("wider-hint").get_by_role("link").click()
    page.wait_for_url("**period=30d**")
    assert "(" in page.get_by_test_id("kpi-previous").inner_text()
    page.context.close()


def test_fleet_health_at_desktop_and_phone_widths(browser, site, artifacts):
    for size in (DESKTOP, PHONE):
        page = logged_in(browser, site, "alice", size)
        page.goto(f"{site.url}/fleet")
        health = page.get_by_test_id("health-ccas-solidarites-borne-1").inner_text()
        assert "68\u202f°C" in health and "trop chaude" not in health and "allumée depuis 1\u202fj 21\u202fh" in health
        assert "trop chaude" in page.get_by_test_id("health-mairie-annexe-sud-borne-1").inner_text()
        assert "Stockage" in page.get_by_test_id("problems-mairie-annexe-sud-borne-1").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= size[0]
        page.screenshot(path=str(artifacts / f"fleet-health-{size[0]}.png"), full_page=True)
        page.context.close()


def test_the_phone_dashboard(browser, site, artifacts):
    page = logged_in(browser, site, "alice", PHONE)
    page.goto(f"{site.url}/dashboard?period=30d")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
    filters = page.locator("details.filters-box")
    assert not filters.evaluate("d => d.open"), "filters folded on a phone"
    assert filters.bounding_box()["y"] < page.locator("section.kpis").bounding_box()["y"], "above the key figures"
    for chart in page.locator(".chart").all():
        scroll = chart.evaluate("c => [c.scrollLeft, c.scrollWidth - c.clientWidth]")
        assert scroll[1] <= 0 or scroll[0] >= scroll[1] - 1, "a chart wider than the phone opens at the latest days"
    card = page.get_by_test_id("ranking").locator("tbody tr").first
    assert card.evaluate("r => getComputedStyle(r).display") == "grid", "the ranking is a card per site"
    assert card.bounding_box()["width"] <= PHONE[0]
    page.screenshot(path=str(artifacts / "dashboard-phone-390-30d.png"), full_page=True)
    page.locator("details.filters-box summary").click()
    assert page.get_by_label("Périmètre", exact=True).is_visible()
    page.screenshot(path=str(artifacts / "dashboard-phone-390-filters-open.png"))
    page.context.close()


def test_names_not_ids_in_visible_text(browser, site):
    page = logged_in(browser, site, "alice", DESKTOP)
    site_ids = [s[0] for s in DEMO_SITES]
    kiosk_ids = [f"{s}-borne-1" for s in site_ids]
    for path in ("/dashboard", "/dashboard?period=week&scope=org:demo-ville", "/fleet", "/admin/kiosks",
                 "/admin/config", "/admin/users", "/admin/walls"):
        page.goto(f"{site.url}{path}")
        shown = visible_text(page)
        for kiosk in kiosk_ids:  # these kiosks have no name of their own: their id is their name
            shown = shown.replace(kiosk, "")
        raw = [ident for ident in [*site_ids, "demo-ville", "org:", "site:", "rev "] if ident in shown]
        assert raw == [], f"{path} shows {raw}"
        if path.startswith("/dashboard"):
            assert "Ville de Démo" in page.locator("#scope").inner_text()
    page.context.close()
