"""Week-over-week and month-over-month: the presets, what a period is compared with, and how it is shown."""

from __future__ import annotations

import html
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from web_support import Press, login, quick_user, store_presses

from collector.db import connect
from collector.registry import add_kiosk, add_site
from collector.web.scope import preset_period, previous_period

PARIS = ZoneInfo("Europe/Paris")
THURSDAY = date(2026, 10, 8)


@pytest.mark.parametrize(("preset", "period"), [
    ("week", (date(2026, 10, 5), THURSDAY)),
    ("last-week", (date(2026, 9, 28), date(2026, 10, 4))),
    ("month", (date(2026, 10, 1), THURSDAY)),
    ("last-month", (date(2026, 9, 1), date(2026, 9, 30))),
    ("7d", (date(2026, 10, 2), THURSDAY)),
])
def test_presets(preset, period):
    assert preset_period(preset, THURSDAY) == period


@pytest.mark.parametrize(("period", "before"), [
    # this week so far: last week up to the same weekday
    ((date(2026, 10, 5), THURSDAY), (date(2026, 9, 28), date(2026, 10, 1))),
    ((date(2026, 9, 28), date(2026, 10, 4)), (date(2026, 9, 21), date(2026, 9, 27))),
    # this month so far: the same days of last month; a whole month: the whole month before
    ((date(2026, 10, 1), THURSDAY), (date(2026, 9, 1), date(2026, 9, 8))),
    ((date(2026, 3, 1), date(2026, 3, 31)), (date(2026, 2, 1), date(2026, 2, 28))),
    ((date(2026, 3, 1), date(2026, 3, 30)), (date(2026, 2, 1), date(2026, 2, 28))),
    ((date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 1, 1), date(2026, 1, 31))),
    # any other period: the same length just before
    ((date(2026, 10, 2), THURSDAY), (date(2026, 9, 25), date(2026, 10, 1))),
])
def test_what_a_period_is_compared_with(period, before):
    assert previous_period(*period) == before


def at(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


@pytest.fixture
def client(app):
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie", org="ville", scale=4)
    add_kiosk(db, "borne-1", "mairie")
    quick_user(db, "alice", "admin")
    last_tuesday, tuesday = date(2026, 9, 29), date(2026, 10, 6)
    presses = [Press(at(last_tuesday, 10, m), 4 if m < 10 else 1) for m in range(12)]  # 10 of 12: 83 %
    presses += [Press(at(tuesday, 10, m), 4 if m < 14 else 1) for m in range(19)]  # 14 of 19: 74 %
    store_presses(db, "borne-1", "mairie", presses)
    db.close()
    web = app.test_client()
    login(web, "alice")
    return web


def test_the_previous_week_is_written_out_and_drawn_faintly(client):
    page = client.get("/dashboard?scope=site:mairie&from=2026-10-05&to=2026-10-08").get_data(as_text=True)
    value = re.search(r'data-testid="kpi-satisfaction">(.*?)</p>', page).group(1)
    note = re.sub(r"[ \n]+", " ", html.unescape(re.sub(r"<[^>]+>", " ", re.search(
        r'data-testid="kpi-previous">(.*?)</p>', page, re.S).group(1)))).strip()
    assert value == "74\u202f%"
    assert note == "semaine précédente (28 sept. – 1 oct.) : 83\u202f% (▼ −10\u202fpts)"
    assert page.count('class="previous-line"') == 0, "one day of answers last week: a point, no line"
    assert page.count('class="previous-point"') == 1 and page.count('class="previous-bar"') == 1
    assert "En pointillés : semaine précédente" in page


def test_a_previous_period_under_the_minimum_is_not_shown(client):
    page = client.get("/dashboard?scope=site:mairie&from=2026-10-06&to=2026-10-06").get_data(as_text=True)
    note = re.search(r'data-testid="kpi-previous">(.*?)</p>', page, re.S).group(1)
    assert "pas assez de réponses pour comparer" in note, "the day before had no answers"
    assert "previous-bar" not in page and "previous-point" not in page


def test_presets_are_offered_and_the_chosen_one_is_marked(client):
    page = client.get("/dashboard?scope=site:mairie&period=last-week").get_data(as_text=True)
    presets = page.split('class="presets"')[1].split("</nav>")[0]
    for label in ("Cette semaine", "Semaine dernière", "Ce mois", "Mois dernier"):
        assert label in presets
    assert re.search(r'period=last-week"\s+aria-current="true">Semaine dernière', presets)


@pytest.mark.parametrize(("query", "field", "message"), [
    ("from=0001-01-01", "from", "Choisissez une date entre le 01/01/2000 et le"),
    ("from=2099-01-01&to=2099-01-02", "from", "Choisissez une date entre le 01/01/2000 et le"),
    ("to=9999-12-31", "to", "Choisissez une date entre le 01/01/2000 et le"),
    ("from=2026-13-01", "from", "Ce n'est pas une date (jj/mm/aaaa)."),
    ("from=2026-10-08&to=2026-10-01", "to", "La fin de la période est avant son début."),
    ("hours=night", "hours", "Choisissez toutes les heures ou les heures d'ouverture."),
])
def test_bad_filters_give_a_styled_page_with_the_error_next_to_the_field(client, query, field, message):
    response = client.get(f"/dashboard?scope=site:mairie&{query}")
    assert response.status_code == 400
    page = html.unescape(response.get_data(as_text=True))
    assert "Bad Request" not in page and 'aria-label="Navigation principale"' in page
    error = re.search(rf'<p class="field-error" id="err-{field}">(.*?)</p>', page).group(1)
    assert error.startswith(message)
    typed = dict(part.split("=") for part in query.split("&"))
    for name, value in typed.items():
        if name in ("from", "to"):
            assert f'name="{name}" type="date" value="{value}"' in page, "what was typed is kept"
    assert client.get(f"/dashboard/export.csv?scope=site:mairie&{query}").status_code == 400


def test_french_dates_are_understood(client):
    page = client.get("/dashboard?scope=site:mairie&from=05/10/2026&to=08/10/2026").get_data(as_text=True)
    assert re.search(r'data-testid="kpi-satisfaction">74\u202f%<', page)


def test_an_unknown_export_table_gives_the_styled_page(client):
    response = client.get("/dashboard/export.csv?scope=site:mairie&table=nope")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Demande incorrecte" in page and "Navigation principale" in page
