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
