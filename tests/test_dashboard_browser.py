"""The dashboard in a real headless Chromium: login and roles, screenshots at desktop and phone widths,
and an axe-core scan of every page with no serious or critical violation."""

from __future__ import annotations

import pytest
from web_support import PASSWORD, axe_violations, open_page, quick_user, seed_history

from collector.db import connect
from collector.service import WebServer
from collector.walls import create_wall
from collector.web import create_app

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
    for name, path in (("dashboard", "/dashboard"), ("fleet", "/fleet"), ("login", "/login")):
        page.goto(f"{site.url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE[0], f"{path} scrolls sideways on a phone ({width} px)"
        page.screenshot(path=str(artifacts / f"{name}-phone-{PHONE[0]}.png"), full_page=True)
    assert axe_violations(page) == []
    page.context.close()
