"""Figures of a period survive a later change of scale (issue 18): 4 faces, then 5.

Rollups keep the scale each press was made on; a period before the change
reads as 4 faces, after it as 5, and a period across it adds bands
(satisfied / neutral / dissatisfied), never faces of different scales.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from web_support import Press, login, quick_user, store_presses

from collector.db import connect
from collector.registry import add_kiosk, add_site, get_site, update_site
from collector.reports import build_report

PARIS = ZoneInfo("Europe/Paris")
FIRST = date(2026, 10, 5)  # Monday: three days on 4 faces, then three on 5
DAYS = [FIRST + timedelta(days=i) for i in range(6)]
FOUR = [4, 4, 3, 3, 3, 2, 1, 4, 4, 3, 2, 1]  # per day: 8 satisfied, 4 dissatisfied
FIVE = [5, 5, 4, 3, 3, 2, 1, 5, 4, 3, 2, 1]  # per day: 5 satisfied, 3 neutral, 4 dissatisfied


def span(first: date, last: date) -> str:
    return f"from={first.isoformat()}&to={last.isoformat()}"


@pytest.fixture
def changed(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", org="ville", scale=4)
    add_kiosk(db, "borne-1", "mairie")

    def presses(days: list[date], ratings: list[int]) -> list[Press]:
        return [Press(datetime(d.year, d.month, d.day, 10, m, tzinfo=PARIS), r)
                for d in days for m, r in enumerate(ratings)]

    seq = store_presses(db, "borne-1", "mairie", presses(DAYS[:3], FOUR))
    update_site(db, "mairie", scale=5)
    store_presses(db, "borne-1", "mairie", presses(DAYS[3:], FIVE), first_seq=seq)
    quick_user(db, "alice", "admin")
    db.close()
    return app


def test_summary_before_the_change_keeps_its_4_faces(changed):
    body = changed.test_client().get(f"/api/v1/sites/mairie/summary?{span(DAYS[0], DAYS[2])}").get_json()
    assert body["total"] == 36, "the days before the change are not empty"
    assert body["scale"] == 4 and body["site_scale"] == 5 and body["scales"] == [4]
    assert body["counts"] == {"1": 6, "2": 6, "3": 12, "4": 12}
    assert body["satisfaction"] == pytest.approx(24 / 36, abs=1e-4)
    assert body["bands"] == {"satisfied": 24, "neutral": 0, "dissatisfied": 12}


def test_summary_after_the_change_is_5_faces(changed):
    body = changed.test_client().get(f"/api/v1/sites/mairie/summary?{span(DAYS[3], DAYS[5])}").get_json()
    assert body["total"] == 36 and body["scale"] == 5 and body["scales"] == [5]
    assert body["counts"] == {"1": 6, "2": 6, "3": 9, "4": 6, "5": 9}
    assert body["bands"] == {"satisfied": 15, "neutral": 9, "dissatisfied": 12}


def test_summary_across_the_change_adds_bands_not_faces(changed):
    body = changed.test_client().get(f"/api/v1/sites/mairie/summary?{span(DAYS[0], DAYS[5])}").get_json()
    assert body["total"] == 72 and body["scales"] == [4, 5]
    assert body["bands"] == {"satisfied": 39, "neutral": 9, "dissatisfied": 24}
    assert body["satisfaction"] == pytest.approx(39 / 72, abs=1e-4)
    assert body["net_satisfaction"] == pytest.approx((39 - 24) / 72, abs=1e-4)
    assert body["by_scale"]["4"] == {"counts": {"1": 6, "2": 6, "3": 12, "4": 12}, "total": 36}
    assert body["by_scale"]["5"]["total"] == 36
    assert body["counts"] == {"1": 6, "2": 6, "3": 9, "4": 6, "5": 9}, "faces of the current scale only"


def test_series_across_the_change_gives_each_day_its_own_scale(changed):
    series = changed.test_client().get(f"/api/v1/sites/mairie/series?{span(DAYS[0], DAYS[5])}").get_json()
    points = series["series"]
    assert [p["date"] for p in points] == [d.isoformat() for d in DAYS]
    assert [p["scale"] for p in points] == [4, 4, 4, 5, 5, 5]
    assert points[0]["counts"] == {"1": 2, "2": 2, "3": 4, "4": 4}
    assert points[5]["counts"] == {"1": 2, "2": 2, "3": 3, "4": 2, "5": 3}


def test_dashboard_before_after_and_across_the_change(changed):
    db = connect(changed.config["DATABASE"])
    site = get_site(db, "mairie")
    assert site is not None
    before = build_report(db, [site], DAYS[0], DAYS[2])
    assert before.main.total == 36 and before.scale == 4 and before.main.faces == {1: 6, 2: 6, 3: 12, 4: 12}
    after = build_report(db, [site], DAYS[3], DAYS[5])
    assert after.main.total == 36 and after.scale == 5
    across = build_report(db, [site], DAYS[0], DAYS[5])
    assert across.scale is None, "faces of two scales are not drawn as one"
    assert (across.main.top, across.main.middle, across.main.bottom) == (39, 9, 24)
    db.close()
    client = changed.test_client()
    login(client, "alice")
    for first, last, total in ((DAYS[0], DAYS[2], 36), (DAYS[3], DAYS[5], 36), (DAYS[0], DAYS[5], 72)):
        page = client.get(f"/dashboard?scope=site:mairie&{span(first, last)}").get_data(as_text=True)
        assert f'data-testid="kpi-total">{total}<' in page, (first, last)


def export_rows(client, table: str, first: date, last: date) -> list[dict[str, str]]:
    response = client.get(f"/dashboard/export.csv?scope=site:mairie&{span(first, last)}&table={table}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_exports_label_each_row_with_the_scale_its_answers_were_given_on(changed):
    client = changed.test_client()
    login(client, "alice")
    days = export_rows(client, "days", DAYS[0], DAYS[5])
    assert [(r["date"], r["scale"]) for r in days] == [(d.isoformat(), "4" if i < 3 else "5")
                                                       for i, d in enumerate(DAYS)]
    assert (days[0]["r4"], days[0]["r5"], days[0]["satisfied"]) == ("4", "", "8"), "a 4-face day has no r5"
    assert (days[5]["r5"], days[5]["neutral"]) == ("3", "3")
    across = export_rows(client, "sites", DAYS[0], DAYS[5])[0]
    assert across["scale"] == "4,5" and across["answers"] == "72"
    assert (across["satisfied"], across["neutral"], across["dissatisfied"]) == ("39", "9", "24")
    assert {across[f"r{r}"] for r in range(1, 6)} == {""}, "faces of two scales are never added"
    before = export_rows(client, "sites", DAYS[0], DAYS[2])[0]
    assert before["scale"] == "4" and before["r4"] == "12" and before["r5"] == ""


def test_the_satisfaction_line_does_not_join_4_faces_to_5(changed):
    client = changed.test_client()
    login(client, "alice")
    page = client.get(f"/dashboard?scope=site:mairie&{span(DAYS[0], DAYS[5])}").get_data(as_text=True)
    line = page.split('id="h-line"')[1].split("</section>")[0]
    assert line.count("<polyline") == 2, "three days on 4 faces, three on 5: two lines"
    assert line.count('class="point"') == 6
    assert 'data-testid="line-breaks"' in line
    before = client.get(f"/dashboard?scope=site:mairie&{span(DAYS[0], DAYS[2])}").get_data(as_text=True)
    assert before.split('id="h-line"')[1].split("</section>")[0].count("<polyline") == 1
    assert 'data-testid="line-breaks"' not in before
