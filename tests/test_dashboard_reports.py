"""Dashboard figures from the rollups: trend, faces and groups, local hours, the privacy rule, exports."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from web_support import Press, login, quick_user, store_presses

from collector.db import connect
from collector.registry import add_kiosk, add_site, get_site
from collector.reports import build_report, followup_answers, trend_reference
from collector.retention import purge_raw_events

PARIS = ZoneInfo("Europe/Paris")
TUESDAY = date(2026, 10, 6)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def db(tmp_path):
    database = connect(tmp_path / "r.db")
    add_site(database, "mairie", "Mairie", org="ville", scale=4)
    add_kiosk(database, "borne-1", "mairie")
    yield database
    database.close()


def test_trend_compares_with_the_same_weekday_up_to_the_same_hour(db):
    now = at(TUESDAY + timedelta(weeks=4), 10, 30)
    presses = []
    for week, morning in ((1, [4, 1]), (2, [4, 4, 3]), (4, [4])):  # week 3: no answers at all
        day = TUESDAY + timedelta(weeks=4 - week)
        presses += [Press(at(day, 9, 15), r) for r in morning]
        presses += [Press(at(day, 15), 1) for _ in range(5)]  # the afternoon is not compared with a morning
        presses += [Press(at(day - timedelta(days=1), 9), 1)]  # Mondays do not count
    store_presses(db, "borne-1", "mairie", sorted(presses, key=lambda p: p.when))
    site = get_site(db, "mairie")
    ref = trend_reference(db, site, now)
    assert ref["weekday"] == 1 and ref["weeks"] == 3 and ref["until_hour"] == 11
    # The mean of three mornings (50 %, 100 %, 100 %), not the pooled 5 of 6.
    assert ref["reference"] == pytest.approx((0.5 + 1 + 1) / 3, abs=1e-4)
    late = trend_reference(db, site, at(TUESDAY + timedelta(weeks=4), 16, 0))
    assert late["reference"] < 0.4, "by 16:00 the afternoons count too"


def test_one_scale_gives_faces_mixed_scales_give_groups(db):
    day = TUESDAY
    store_presses(db, "borne-1", "mairie", [Press(at(day, 9), 4), Press(at(day, 9, 1), 4, flagged=True),
                                            Press(at(day, 10), 2), Press(at(day, 11), 1)])
    site = get_site(db, "mairie")
    report = build_report(db, [site], day, day, counts="filtered")
    assert report.scale == 4
    assert report.raw.total == 4 and report.filtered.total == 3 and report.flagged == 1
    assert report.filtered.faces == {4: 1, 2: 1, 1: 1}
    assert report.filtered.satisfaction == pytest.approx(1 / 3)
    raw = build_report(db, [site], day, day, counts="raw")
    assert raw.main.total == 4 and raw.main.satisfaction == pytest.approx(0.5)

    add_site(db, "ccas", "CCAS", org="ville", scale=3)
    add_kiosk(db, "borne-2", "ccas")
    store_presses(db, "borne-2", "ccas", [Press(at(day, 9), 3), Press(at(day, 9, 5), 2)])
    both = build_report(db, [site, get_site(db, "ccas")], day, day)
    assert both.scale is None
    assert (both.main.top, both.main.middle, both.main.bottom) == (2, 1, 2)


def test_days_and_hours_are_the_sites_local_time(db):
    summer = date(2026, 7, 1)  # a Wednesday, Paris is UTC+2
    store_presses(db, "borne-1", "mairie", [Press(at(summer, 0, 30), 4), Press(at(summer, 23, 30), 3)])
    report = build_report(db, [get_site(db, "mairie")], summer, summer)
    assert report.buckets[summer].total == 2, "00:30 and 23:30 local are the same local day"
    assert set(report.heat) == {(2, 0), (2, 23)}


@pytest.fixture
def admin_client(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", org="ville", scale=4)
    add_kiosk(db, "borne-1", "mairie")
    add_kiosk(db, "tablette-1", "mairie")
    quick_user(db, "alice", "admin")
    # Tuesday 10 h: 12 answers (shown); Tuesday 15 h: 3 answers (too few to show).
    presses = [Press(at(TUESDAY, 10, m), 4 if m % 4 else 2) for m in range(12)]
    presses += [Press(at(TUESDAY, 15, m), 1) for m in range(3)]
    store_presses(db, "borne-1", "mairie", presses)
    touch = [Press(at(TUESDAY, 11, m), 1, "touch", followup={"question": "why", "choice": "wait"}) for m in range(11)]
    touch += [Press(at(TUESDAY, 11, 30 + m), 2, "touch", followup={"question": "why", "choice": "place"})
              for m in range(2)]
    store_presses(db, "tablette-1", "mairie", touch)
    db.close()
    client = app.test_client()
    login(client, "alice")
    return client


PERIOD = f"scope=site:mairie&from={TUESDAY.isoformat()}&to={TUESDAY.isoformat()}"


def test_small_cells_say_not_enough_responses(admin_client):
    page = admin_client.get(f"/dashboard?{PERIOD}").get_data(as_text=True)
    heat = page.split('data-testid="heatmap"')[1].split('data-testid="hour-profile"')[0]  # the weekday rows
    assert "75\u202f%" in heat and "<small>12</small>" in heat, "the 10 h cell: 9 of 12 satisfied"
    assert heat.count('class="masked"') == 1, "the 15 h cell (3 answers) is hidden"
    assert "pas assez de réponses" in heat
    reasons = page.split('data-testid="followups"')[1].split("</table>")[0]
    assert "Temps d&#39;attente" in reasons and "<td class=\"num\">11</td>" in reasons
    assert "Locaux, confidentialité" in reasons and "pas assez de réponses" in reasons
    assert "<td class=\"num\">2</td>" not in reasons
    channels = page.split('data-testid="channels"')[1].split("</table>")[0]
    assert "Écran tactile" in channels and "Boutons" in channels


def test_min_cell_is_configurable(tmp_path):
    from collector.web import create_app
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "m.db"), "SECRET_KEY": "t", "MIN_CELL": 2,
                      "START_LIVE": False})
    assert app.config["MIN_CELL"] == 2
    app.extensions["ressenti_live"].stop()


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_exports_hold_the_dashboard_figures_under_the_same_rule(admin_client):
    days = rows(admin_client.get(f"/dashboard/export.csv?{PERIOD}"))
    assert len(days) == 1
    day = days[0]
    assert (day["site_id"], day["date"], day["answers_raw"], day["flagged"]) == ("mairie", "2026-10-06", "28", "0")
    assert int(day["r4"]) + int(day["r2"]) + int(day["r1"]) == 28 and day["note"] == ""
    heatmap = rows(admin_client.get(f"/dashboard/export.csv?{PERIOD}&table=heatmap"))
    heat = {(r["weekday"], r["hour_local"]): r for r in heatmap}
    assert heat[("tue", "10")]["answers"] == "12" and heat[("tue", "10")]["satisfaction"] == "0.75"
    assert heat[("tue", "15")]["answers"] == "" and heat[("tue", "15")]["note"] == "not_enough_responses"
    channels = {r["channel"]: r for r in rows(admin_client.get(f"/dashboard/export.csv?{PERIOD}&table=channels"))}
    assert channels["touch"]["answers"] == "13" and channels["button"]["answers"] == "15"
    hourly = rows(admin_client.get(f"/dashboard/export.csv?{PERIOD}&table=hours"))
    assert sum(int(r["n_raw"]) for r in hourly) == 28, "admins get the rollups themselves"
    for table in (days, list(heat.values()), hourly):
        assert not {"kiosk", "agent", "user", "login"} & set(table[0]), "no agent (or kiosk) dimension"

    response = admin_client.get(f"/dashboard/export.xlsx?{PERIOD}")
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["about", "days", "heatmap", "sites", "channels", "reasons"]
    sheet = book["days"]
    assert [c.value for c in sheet[1]][:4] == ["site_id", "site_name", "org", "date"]
    assert sheet.cell(2, 6).value == 28


def test_exports_of_a_scope_mixing_scales_add_bands_never_faces(app):
    """r3 is the best face of a 3-face site and a bad one of a 4-face site: never one column (issue 18)."""
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", org="ville", scale=4)
    add_site(db, "ccas", "CCAS", org="ville", scale=3)
    add_kiosk(db, "borne-1", "mairie")
    add_kiosk(db, "borne-2", "ccas")
    store_presses(db, "borne-1", "mairie", [Press(at(TUESDAY, 10, m), 1 + m % 4) for m in range(12)])
    store_presses(db, "borne-2", "ccas", [Press(at(TUESDAY, 10, 30 + m), 3) for m in range(12)])
    quick_user(db, "alice", "admin")
    db.close()
    client = app.test_client()
    login(client, "alice")
    scope = f"scope=org:ville&from={TUESDAY.isoformat()}&to={TUESDAY.isoformat()}"
    heat = rows(client.get(f"/dashboard/export.csv?{scope}&table=heatmap"))[0]
    channel = rows(client.get(f"/dashboard/export.csv?{scope}&table=channels"))[0]
    for row in (heat, channel):
        assert row["scale"] == "3,4" and row["answers"] == "24"
        assert (row["satisfied"], row["neutral"], row["dissatisfied"]) == ("18", "0", "6"), "6 + 12 satisfied"
        assert {row[f"r{r}"] for r in range(1, 6)} == {""}
    sites = {r["site_id"]: r for r in rows(client.get(f"/dashboard/export.csv?{scope}&table=sites"))}
    assert (sites["ccas"]["scale"], sites["ccas"]["r3"], sites["ccas"]["satisfied"]) == ("3", "12", "12")
    assert (sites["mairie"]["scale"], sites["mairie"]["r3"], sites["mairie"]["satisfied"]) == ("4", "3", "6")


def test_follow_up_answers_leave_out_flagged_presses(db):
    store_presses(db, "borne-1", "mairie", [
        Press(at(TUESDAY, 9), 1, "touch", followup={"question": "why", "choice": "wait"}),
        Press(at(TUESDAY, 9, 1), 1, "touch", flagged=True, followup={"question": "why", "choice": "wait"})])
    site = get_site(db, "mairie")
    assert followup_answers(db, [site], TUESDAY, TUESDAY) == {("why", "wait"): 1}
    assert followup_answers(db, [site], TUESDAY, TUESDAY, counts="raw") == {("why", "wait"): 2}


def test_follow_up_reasons_survive_retention(app, admin_client):
    def reasons() -> str:
        page = admin_client.get(f"/dashboard?{PERIOD}").get_data(as_text=True)
        return page.split('data-testid="followups"')[1].split("</table>")[0]

    before = reasons()
    assert "Temps d&#39;attente" in before and "<td class=\"num\">11</td>" in before
    db = connect(app.config["DATABASE"])
    site = get_site(db, "mairie")
    answers = followup_answers(db, [site], TUESDAY, TUESDAY)
    assert purge_raw_events(db, 1) == 28 and db["events"].count == 0
    assert followup_answers(db, [site], TUESDAY, TUESDAY) == answers == {("why", "wait"): 11, ("why", "place"): 2}
    db.close()
    assert reasons() == before
