"""Issue 15: the barometer's staff page and managers' view through the real Flask app, and that no other
page, API, export or open data carries a barometer figure."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from web_support import csrf, login, quick_user

from collector.barometer.codes import new_codes
from collector.barometer.settings import save_settings
from collector.barometer.teams import save_team
from collector.barometer.weeks import recent_periods, week_of
from collector.db import connect
from collector.registry import add_site
from collector.web.scope import DEFAULT_ZONE

TEAM_NAME = "Equipe-accueil-zzz"


@pytest.fixture
def world(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", org="ville")
    save_settings(db, "ville", enabled=True)
    team = save_team(db, "accueil", TEAM_NAME, ["mairie"])
    quick_user(db, "manon", "manager", ("site:mairie",))
    quick_user(db, "victor", "viewer", ("site:mairie",))
    quick_user(db, "alice", "admin")
    yield db, team
    db.close()


def post_answer(client, code, **ratings):
    token = csrf(client.get("/equipe/accueil").get_data(as_text=True))
    data = {"csrf_token": token, "code": code, **{f"q-{k}": v for k, v in ratings.items()}}
    return client.post("/equipe/accueil", data=data)


def test_staff_page_takes_one_answer_per_code_and_refuses_bad_input_clearly(world, client):
    db, team = world
    today = datetime.now(DEFAULT_ZONE).date()
    code = new_codes(db, team, week_of(today), 1)[0]
    page = client.get(f"/equipe/accueil?code={code}").get_data(as_text=True)
    assert TEAM_NAME in page and f'value="{code}"' in page and "Ma charge de travail" in page
    response = post_answer(client, code, semaine="9")
    assert response.status_code == 400 and "chelle de 1 à 4" in response.get_data(as_text=True)
    response = post_answer(client, code, semaine="3", charge="2")
    assert response.status_code == 201 and week_of(today) in response.get_data(as_text=True)
    response = post_answer(client, code, semaine="3")
    assert response.status_code == 400 and "déjà servi" in response.get_data(as_text=True)
    missing = client.get("/equipe/nowhere?lang=en")
    assert missing.status_code == 404 and "no team &#39;nowhere&#39;" in missing.get_data(as_text=True)
    assert db.execute("SELECT SUM(n) FROM barometer_counts").fetchone()[0] == 2


def _fill(db, team, week, n):
    """n answers of a closed week, counted as the staff page does (its codes spent, its counters added)."""
    from collector.barometer.answers import submit
    from collector.barometer.weeks import week_monday
    for code in new_codes(db, team, week, n):
        submit(db, team.id, code, {"semaine": "4", "charge": "2"}, week_monday(week))


def test_managers_see_five_answers_and_nothing_of_four(world, client):
    db, team = world
    today = datetime.now(DEFAULT_ZONE).date()
    weeks = recent_periods("week", today, 8)
    four, five = weeks[-1], weeks[-5]  # four weeks apart: never in the same month
    _fill(db, team, four, 4)
    _fill(db, team, five, 5)
    login(client, "manon")
    page = client.get("/dashboard/barometer").get_data(as_text=True)
    row = lambda week: re.search(rf'data-testid="period-{week}">(.*?)</tr>', page, re.S).group(1)  # noqa: E731
    assert "Pas assez de réponses" in row(four) and "%" not in row(four).split("</th>")[1].split("<td>")[1]
    assert "100" in row(five)
    viewer = client.application.test_client()
    login(viewer, "victor")
    assert viewer.get("/dashboard/barometer").status_code == 403


def test_no_other_route_returns_a_barometer_figure(world, client, admin_headers):
    db, team = world
    today = datetime.now(DEFAULT_ZONE).date()
    _fill(db, team, recent_periods("week", today, 1)[0], 6)
    login(client, "alice")
    app = client.application
    checked = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.arguments - {"site_id", "org_id"} or "stream" in rule.rule:
            continue
        url = rule.rule.replace("<site_id>", "mairie").replace("<org_id>", "ville")
        if url.startswith(("/dashboard/barometer", "/equipe", "/admin/barometer")):  # its own pages
            continue
        for extra in ("", "?scope=site:mairie"):
            response = client.get(url + extra, headers=admin_headers if url.startswith("/api/") else {})
            body = response.get_data()
            assert TEAM_NAME.encode() not in body and b"charge de travail" not in body, url
            checked += 1
    assert checked > 20
    # The managers' view itself has no day: periods are ISO weeks.
    page = client.get("/dashboard/barometer").get_data(as_text=True)
    table = page.split('data-testid="barometer"')[1].split("</table>")[0]
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{2}", table)


def test_a_slip_code_in_the_staff_link_never_reaches_a_log_line():
    from collector.web.log_redaction import redact
    line = '127.0.0.1 - - "GET /equipe/accueil?lang=fr&code=WPX4-EJH3-RDPQ HTTP/1.1" 200 -'
    assert redact(line) == '127.0.0.1 - - "GET /equipe/accueil?lang=fr&code=~ HTTP/1.1" 200 -'
    assert redact("GET /equipe/accueil?code=ABCDEFGHJKMN") == "GET /equipe/accueil?code=~"


def test_an_admin_enables_it_defines_a_team_and_prints_a_sheet_of_codes(app, tmp_path):
    import subprocess

    from web_support import post_form
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", org="ville")
    quick_user(db, "alice", "admin")
    client = app.test_client()
    login(client, "alice")
    page = "/admin/barometer"
    refused = post_form(client, page, "/admin/barometer/settings",
                        {"org": "ville", "enabled": "1", "min_group": "4", "scale": "4", "questions": "a | A"})
    assert refused.status_code == 303 and "relever" in client.get(page).get_data(as_text=True)
    assert post_form(client, page, "/admin/barometer/settings",
                     {"org": "ville", "enabled": "1", "min_group": "6", "scale": "4", "labels": "",
                      "questions": "semaine | Ma semaine | My week"}).status_code == 302
    assert post_form(client, page, "/admin/barometer/teams",
                     {"id": "accueil", "name": "Accueil", "sites": "mairie"}).status_code == 302
    response = post_form(client, page, "/admin/barometer/codes", {"team": "accueil", "week": "2026-W50", "count": "3"})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    (tmp_path / "sheet.pdf").write_bytes(response.data)
    text = subprocess.run(["pdftotext", str(tmp_path / "sheet.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    codes = re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", text)
    assert len(codes) == 3 and "Semaine 2026-W50" in text
    assert db.execute("SELECT COUNT(*) FROM barometer_codes WHERE team = 'accueil' AND used = 0").fetchone()[0] == 3
    db.close()
