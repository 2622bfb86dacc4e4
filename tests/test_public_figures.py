"""The public JSON API under the publication rules: a minimum count, and never finer than a day (issues 13, 17).

A public per-hour series gave the counts of 1 to 4 answers an hour that the
dashboard hides, so anyone could see how the citizens rated the agent at the
desk from 15:00 to 16:00. Public figures are per local day, and any figure
under the minimum count (the dashboard's MIN_CELL) is withheld with a reason.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from web_support import Press, login, quick_user, store_presses

from collector.db import connect
from collector.publication import DEFAULT_MIN_CELL, NOT_ENOUGH
from collector.registry import add_kiosk, add_site
from collector.web import create_app

PARIS = ZoneInfo("Europe/Paris")
DAY = date(2026, 10, 6)
NEXT = DAY + timedelta(days=1)
SPAN = f"from={DAY.isoformat()}&to={NEXT.isoformat()}"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def seed(path: str) -> None:
    """DAY: 12 answers at 10 h (an hour big enough), 3 at 15 h (too few); NEXT: 4 answers (a day too small)."""
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville", scale=4)
    add_site(db, "ccas", "CCAS", org="social", scale=3)
    add_kiosk(db, "borne-1", "mairie")
    presses = [Press(at(DAY, 10, m), 4 if m % 3 else 1) for m in range(12)]
    presses += [Press(at(DAY, 15, m), 1) for m in range(3)]
    presses += [Press(at(NEXT, 9, m), 2) for m in range(4)]
    store_presses(db, "borne-1", "mairie", presses)
    quick_user(db, "voit-mairie", "viewer", ("site:mairie",))
    quick_user(db, "voit-ccas", "viewer", ("site:ccas",))
    db.close()


@pytest.fixture
def client(app):
    seed(app.config["DATABASE"])
    return app.test_client()


def test_public_series_is_per_day_and_withholds_a_small_day(client):
    body = client.get(f"/api/v1/sites/mairie/series?{SPAN}").get_json()
    assert body["unit"] == "day" and body["min_count"] == DEFAULT_MIN_CELL
    first, second = body["series"]
    assert first["date"] == DAY.isoformat() and first["total"] == 15
    assert first["counts"] == {"1": 4 + 3, "2": 0, "3": 0, "4": 8}
    assert first["bands"] == {"satisfied": 8, "neutral": 0, "dissatisfied": 7}
    assert second["date"] == NEXT.isoformat()
    assert second["total"] is None, "withheld, not shown as 0"
    assert second["withheld"] == {"reason": NOT_ENOUGH, "min_count": DEFAULT_MIN_CELL}
    assert "counts" not in second and "bands" not in second and "satisfaction" not in second


def test_public_per_hour_series_is_refused_with_a_reason(client):
    response = client.get(f"/api/v1/sites/mairie/series?{SPAN}&unit=hour")
    assert response.status_code == 403
    assert "per day" in response.get_json()["error"]
    assert client.get(f"/api/v1/sites/mairie/series?{SPAN}&unit=minute").status_code == 400


def test_admin_token_gets_hours_and_hours_under_the_minimum_are_withheld(client, admin_headers):
    body = client.get(f"/api/v1/sites/mairie/series?{SPAN}&unit=hour", headers=admin_headers).get_json()
    points = {p["local"][11:13]: p for p in body["series"]}
    assert points["10"]["total"] == 12 and points["10"]["counts"]["4"] == 8
    assert points["15"]["total"] is None and points["15"]["withheld"]["reason"] == NOT_ENOUGH
    assert "counts" not in points["15"]
    assert points["09"]["total"] is None, "the 4 answers of the next morning too"
    forged = client.get(f"/api/v1/sites/mairie/series?{SPAN}&unit=hour",
                        headers={"Authorization": "Bearer rst_admin_forged"})
    assert forged.status_code == 401 and "admin token" in forged.get_json()["error"]


def test_a_viewer_of_the_site_gets_hours_a_viewer_of_another_scope_does_not(app):
    seed(app.config["DATABASE"])
    own, other = app.test_client(), app.test_client()
    login(own, "voit-mairie")
    login(other, "voit-ccas")
    assert own.get(f"/api/v1/sites/mairie/series?{SPAN}&unit=hour").status_code == 200
    assert other.get(f"/api/v1/sites/mairie/series?{SPAN}&unit=hour").status_code == 403
    small = f"/api/v1/sites/mairie/summary?from={NEXT.isoformat()}"
    assert own.get(small).get_json()["total"] == 4, "the dashboard's headline is not masked for its viewers"
    assert other.get(small).get_json()["total"] is None


def test_public_summary_withholds_a_figure_under_the_minimum(client, admin_headers):
    small = client.get(f"/api/v1/sites/mairie/summary?from={NEXT.isoformat()}").get_json()
    assert small["withheld"] == {"reason": NOT_ENOUGH, "min_count": DEFAULT_MIN_CELL}
    for key in ("total", "counts", "bands", "satisfaction", "net_satisfaction", "filtered", "flagged", "by_scale"):
        assert small[key] is None, key
    assert small["site"] == "mairie" and small["from"] == NEXT.isoformat(), "it still says what it is about"
    big = client.get(f"/api/v1/sites/mairie/summary?from={DAY.isoformat()}").get_json()
    assert big["total"] == 15 and "withheld" not in big
    assert big["satisfaction"] == pytest.approx(8 / 15, abs=1e-4)
    detail = client.get(f"/api/v1/sites/mairie/summary?from={NEXT.isoformat()}", headers=admin_headers)
    assert detail.get_json()["total"] == 4
    assert detail.headers["Cache-Control"] == "private, no-store", "no shared cache hands it to the public"
    public = client.get(f"/api/v1/sites/mairie/summary?from={NEXT.isoformat()}")
    assert "Cookie" in public.headers["Vary"] and "Authorization" in public.headers["Vary"]


def test_the_minimum_is_the_dashboards_min_cell(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "m.db"), "SECRET_KEY": "t", "MIN_CELL": 4,
                      "START_LIVE": False})
    seed(app.config["DATABASE"])
    client = app.test_client()
    assert client.get(f"/api/v1/sites/mairie/summary?from={NEXT.isoformat()}").get_json()["total"] == 4
    series = client.get(f"/api/v1/sites/mairie/series?{SPAN}").get_json()
    assert series["min_count"] == 4 and [p["total"] for p in series["series"]] == [15, 4]
    app.extensions["ressenti_live"].stop()
