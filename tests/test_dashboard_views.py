"""Dashboard and admin pages read as a manager reads them: the hours profile, names rather than ids."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from web_support import Press, login, post_form, quick_user, store_presses

from collector.db import connect
from collector.registry import add_kiosk, add_org, add_site

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 10, 5)


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).replace("\u202f", " ").split())


@pytest.fixture
def client(app):
    db = connect(app.config["DATABASE"])
    add_org(db, "ville", "Ville de Lumière")
    add_site(db, "mairie", "Mairie centrale", org="ville", scale=4)
    add_site(db, "annexe", "Annexe du port", org="ville", scale=4)
    add_kiosk(db, "borne-1", "mairie", "Borne de l'entrée")
    quick_user(db, "alice", "admin")
    # 9 h: four answers each weekday (every cell under 10), twenty in all; 14 h: three on Monday only.
    presses = [Press(datetime(2026, 10, 5 + d, 9, m, tzinfo=PARIS), 4 if m else 1) for d in range(5) for m in range(4)]
    presses += [Press(datetime(2026, 10, 5, 14, m, tzinfo=PARIS), 3) for m in range(3)]
    store_presses(db, "borne-1", "mairie", presses)
    db.close()
    web = app.test_client()
    login(web, "alice")
    return web


def test_the_hours_profile_pools_the_weekdays_and_says_when_to_widen_the_period(client):
    page = client.get("/dashboard?scope=site:mairie&from=2026-10-05&to=2026-10-11").get_data(as_text=True)
    heat = page.split('data-testid="heatmap"')[1].split('data-testid="hour-profile"')[0]
    assert "<strong>" not in heat, "every hour x weekday cell has fewer than 10 answers"
    profile = page.split('data-testid="hour-profile"')[1].split("</tbody>")[0]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", profile, re.S)
    nine = text(cells[9 - 8])
    assert nine == "75 % 20", "9 h pooled over five weekdays: 15 of 20 satisfied"
    assert "pas assez de réponses" in cells[14 - 8], "14 h: three answers, still hidden"
    hint = text(page.split('data-testid="wider-hint"')[1].split("</p>")[0])
    assert "La plupart des cases ont moins de 10 réponses" in hint and "Voir sur une période plus longue" in hint
    legend = text(page.split("heat-legend")[1].split("</ul>")[0])
    assert "0–10 %" in legend and "90–100 %" in legend and "moins de 10 réponses" in legend


def test_the_hint_is_not_shown_when_the_cells_are_readable(app, client):
    db = connect(app.config["DATABASE"])
    store_presses(db, "borne-1", "mairie", [Press(datetime(2026, 10, 12, 9, m, tzinfo=PARIS), 4) for m in range(30)],
                  first_seq=1000)
    db.close()
    page = client.get("/dashboard?scope=site:mairie&from=2026-10-12&to=2026-10-12").get_data(as_text=True)
    assert 'data-testid="wider-hint"' not in page


def test_names_not_ids(client):
    dashboard = client.get("/dashboard?from=2026-10-05&to=2026-10-11").get_data(as_text=True)
    assert ">Organisation · Ville de Lumière<" in dashboard
    post_form(client, "/admin/users", "/admin/users", {"login": "manon", "password": "correct horse battery",
                                                       "role": "manager", "scope": ["org:ville", "site:annexe"]})
    users = text(client.get("/admin/users").get_data(as_text=True).split('data-testid="users"')[1].split("</table>")[0])
    assert "Organisation Ville de Lumière, Annexe du port" in users and "org:" not in users
    kiosks = client.get("/admin/kiosks").get_data(as_text=True).split('data-testid="kiosks"')[1].split("</table>")[0]
    row = text(kiosks.split("<tbody>")[1].split("</td>")[0])
    assert row.startswith("Borne de l'entrée identifiant borne-1 Mairie centrale")
    config = client.get("/admin/config?site=mairie").get_data(as_text=True)
    status = text(config.split('data-testid="config-status"')[1].split("</table>")[0])
    assert "Borne de l'entrée — réglages d'origine réglages d'origine" in status, "its name, nothing sent yet"
    assert '<option value="borne-1">Borne de l&#39;entrée</option>' in config
    sites = client.get("/admin/sites").get_data(as_text=True)
    assert "Ville de Lumière" in text(sites.split('data-testid="sites"')[1].split("</table>")[0])


def test_an_organisation_is_named_from_the_site_form(client, app):
    saved = post_form(client, "/admin/sites", "/admin/sites", {"id": "mairie", "name": "Mairie centrale",
                                                               "org": "ville", "org_name": "Ville Lumière"})
    assert saved.status_code == 302
    assert ">Organisation · Ville Lumière<" in client.get("/dashboard").get_data(as_text=True)


@pytest.fixture
def reasons_client(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie centrale", org="ville", scale=4)
    add_kiosk(db, "tablette-1", "mairie")
    quick_user(db, "alice", "admin")

    def why(day: int, minute: int, rating: int, choice: str) -> Press:
        return Press(datetime(2026, 10, day, 10, minute, tzinfo=PARIS), rating, "touch",
                     followup={"question": "why", "choice": choice})
    presses = [why(6, m, 1, "wait") for m in range(12)] + [why(6, 30 + m, 2, "wait") for m in range(3)]
    presses += [why(7, m, 2, "answer") for m in range(11)]
    store_presses(db, "tablette-1", "mairie", presses)
    db.close()
    web = app.test_client()
    login(web, "alice")
    return web


REASONS_PERIOD = "scope=site:mairie&from=2026-10-06&to=2026-10-07"


def table_rows(page: str, testid: str) -> list[list[str]]:
    table = page.split(f'data-testid="{testid}"')[1].split("</table>")[0]
    return [[text(c) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


def test_reasons_per_face_and_over_time(reasons_client):
    page = reasons_client.get(f"/dashboard?{REASONS_PERIOD}").get_data(as_text=True)
    faces = table_rows(page, "reasons-by-face")
    assert faces[0] == ["Raison", "Pas bien du tout", "Pas bien"]
    assert faces[1] == ["Temps d'attente", "12", "pas assez de réponses"], "3 on face 2: hidden"
    assert faces[2] == ["Réponse apportée", "0", "11"]
    times = table_rows(page, "reasons-over-time")
    assert times[0] == ["Période", "Temps d'attente", "Réponse apportée"]
    assert times[1:] == [["6 oct. 2026", "15", "0"], ["7 oct. 2026", "0", "11"]]


def test_reasons_over_time_survive_retention_and_per_face_says_what_it_covers(app, reasons_client):
    from collector.retention import purge_raw_events
    db = connect(app.config["DATABASE"])
    purge_raw_events(db, 1)  # every event above is older than a day
    db.close()
    page = reasons_client.get(f"/dashboard?{REASONS_PERIOD}").get_data(as_text=True)
    assert table_rows(page, "reasons-over-time")[1:] == [["6 oct. 2026", "15", "0"], ["7 oct. 2026", "0", "11"]]
    assert 'data-testid="reasons-by-face"' not in page, "no raw events left to tell the faces"


def test_exports_have_a_reasons_table(reasons_client):
    import csv
    import io

    from openpyxl import load_workbook
    response = reasons_client.get(f"/dashboard/export.csv?{REASONS_PERIOD}&table=reasons")
    assert response.status_code == 200
    reasons = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert reasons == [
        {"followup_question": "why", "choice": "wait", "label_fr": "Temps d'attente", "label_en": "Waiting time",
         "answers": "15", "share": "0.5769", "note": ""},
        {"followup_question": "why", "choice": "answer", "label_fr": "Réponse apportée",
         "label_en": "The answer I got", "answers": "11", "share": "0.4231", "note": ""}]
    book = load_workbook(io.BytesIO(reasons_client.get(f"/dashboard/export.xlsx?{REASONS_PERIOD}").data))
    sheet = [list(r) for r in book["reasons"].iter_rows(values_only=True)]
    assert sheet[0][:5] == ["followup_question", "choice", "label_fr", "label_en", "answers"]
    assert sheet[1][4] == 15 and sheet[2][4] == 11
    one_day = list(csv.DictReader(io.StringIO(reasons_client.get(
        "/dashboard/export.csv?scope=site:mairie&from=2026-10-06&to=2026-10-06&table=reasons").get_data(as_text=True))))
    assert [(r["choice"], r["answers"], r["note"]) for r in one_day] == [("wait", "15", "")]


def test_a_site_that_asked_two_questions_can_be_read_one_question_at_a_time(app, reasons_client):
    import json

    from collector.registry import add_kiosk as register
    db = connect(app.config["DATABASE"])
    register(db, "borne-2", "mairie")
    store_presses(db, "borne-2", "mairie", [Press(datetime(2026, 10, 6, 15, m, tzinfo=PARIS), 4) for m in range(20)],
                  question="accueil")
    db["kiosk_config"].insert({"kiosk": "borne-2", "site": "mairie", "rev": 1, "pushed_at": "x", "pushed_by": "t",
                               "settings": json.dumps({"question_id": "accueil", "question": {
                                   "fr": "Comment avez-vous été accueilli ?", "en": "How were you welcomed?"}})})
    db.close()
    page = reasons_client.get(f"/dashboard?{REASONS_PERIOD}").get_data(as_text=True)
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>',
                         page.split('id="question"')[1].split("</select>")[0])
    assert [(v, html.unescape(label)) for v, label in options] == [
        ("", "Toutes les questions"), ("accueil", "Comment avez-vous été accueilli ?"),
        ("overall", "Question principale")]
    every = re.search(r'data-testid="kpi-total">(.*?)<', page).group(1)
    one = reasons_client.get(f"/dashboard?{REASONS_PERIOD}&question=accueil").get_data(as_text=True)
    main = reasons_client.get(f"/dashboard?{REASONS_PERIOD}&question=overall").get_data(as_text=True)
    assert (every, re.search(r'data-testid="kpi-total">(.*?)<', one).group(1),
            re.search(r'data-testid="kpi-total">(.*?)<', main).group(1)) == ("46", "20", "26")
    assert 'data-testid="followups"' not in one, "no follow-up came with the welcome question"
    assert table_rows(main, "reasons-over-time")[1:] == [["6 oct. 2026", "15", "0"], ["7 oct. 2026", "0", "11"]]
    assert "question=accueil" in one.split('class="presets"')[1], "presets keep the question"
    assert reasons_client.get(f"/dashboard?{REASONS_PERIOD}&question=nope").status_code == 400
    add_site(connect(app.config["DATABASE"]), "annexe", "Annexe", org="ville")
    assert reasons_client.get("/dashboard?scope=org:ville&question=accueil").status_code == 400, "one site at a time"
    csv_rows = reasons_client.get(f"/dashboard/export.csv?{REASONS_PERIOD}&question=accueil").get_data(as_text=True)
    assert csv_rows.splitlines()[1].split(",")[5:7] == ["20", "20"], "the export keeps the question"


def test_reasons_per_face_wait_for_a_narrower_scope_or_period(reasons_client):
    """Per face reads raw events: over 400 site-days it would slow the page (docs/benchmarks.md)."""
    page = reasons_client.get("/dashboard?scope=site:mairie&from=2025-09-01&to=2026-10-07").get_data(as_text=True)
    assert 'data-testid="reasons-by-face"' not in page
    assert "Choisissez un site ou une période plus courte" in page
    months = table_rows(page, "reasons-over-time")
    assert months[1:] == [["oct. 2026", "15", "11"]], "over a long period, reasons per month"
