"""Issue 15: the team barometer's storage and figures on a real SQLite database (collector/barometer/)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from collector.barometer import BarometerError
from collector.barometer.answers import submit
from collector.barometer.codes import code_stats, new_codes
from collector.barometer.figures import team_figures
from collector.barometer.settings import DEFAULT_MIN_GROUP, save_settings
from collector.barometer.teams import save_team
from collector.barometer.weeks import month_weeks, week_monday, week_of
from collector.db import MIGRATIONS, connect
from collector.registry import add_site

TODAY = date(2026, 12, 4)  # a Friday
ALL_FOUR = {"semaine": "4", "charge": "3", "public": "4", "soutien": "3", "sens": "4", "incivilites": "2"}


@pytest.fixture
def world(tmp_path):
    db = connect(tmp_path / "b.db")
    add_site(db, "mairie", "Mairie", org="ville")
    add_site(db, "annexe", "Annexe", org="ville")
    add_site(db, "ailleurs", "Ailleurs", org="autre")
    save_settings(db, "ville", enabled=True)
    team = save_team(db, "accueil", "Accueil de la mairie", ["mairie", "annexe"])
    yield db, team
    db.close()


def answer(db, team, week, n, ratings=ALL_FOUR):
    codes = new_codes(db, team, week, n)
    for code in codes:
        submit(db, team.id, code, ratings, week_monday(week) + timedelta(days=2))
    return codes


def test_migration_is_idempotent_and_counted(tmp_path):
    db = connect(tmp_path / "m.db")
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    MIGRATIONS[-1](db)  # a second run changes nothing
    db.close()


def test_no_table_of_the_barometer_holds_a_time_a_person_or_a_link_to_a_code(world):
    db, _ = world
    columns = {t: set(db[t].columns_dict) for t in db.table_names() if t.startswith("barometer_")}
    assert columns["barometer_codes"] == {"hash", "team", "week", "used"}
    assert columns["barometer_counts"] == {"team", "week", "question", "scale", "rating", "n"}
    assert columns["barometer_responses"] == {"team", "week", "n"}
    for table in ("barometer_codes", "barometer_counts", "barometer_responses"):
        assert not columns[table] & {"ts", "at", "day", "hour", "created", "ip", "agent", "user", "code_id"}, table


def test_a_code_counts_once_and_a_reused_code_is_refused(world):
    db, team = world
    week = week_of(TODAY)
    code = new_codes(db, team, week, 1)[0]
    assert submit(db, team.id, code.lower().replace("-", " "), ALL_FOUR, TODAY) == week
    with pytest.raises(BarometerError, match="already been used"):
        submit(db, team.id, code, ALL_FOUR, TODAY)
    assert code_stats(db, team.id) == [(week, 1, 1)]
    assert db.execute("SELECT n FROM barometer_responses").fetchall() == [(1,)]


def test_bad_input_is_refused_with_its_reason(world):
    db, team = world
    week = week_of(TODAY)
    code = new_codes(db, team, week, 1)[0]
    with pytest.raises(BarometerError, match="not on the scale 1 to 4"):
        submit(db, team.id, code, {"semaine": "5"}, TODAY)
    with pytest.raises(BarometerError, match="not on the scale"):
        submit(db, team.id, code, {"semaine": "-1"}, TODAY)
    with pytest.raises(BarometerError, match="unknown question"):
        submit(db, team.id, code, {"salaire": "2"}, TODAY)
    with pytest.raises(BarometerError, match="no team 'nowhere'"):
        submit(db, "nowhere", code, ALL_FOUR, TODAY)
    with pytest.raises(BarometerError, match="right form"):
        submit(db, team.id, "ABC", ALL_FOUR, TODAY)
    with pytest.raises(BarometerError, match="not one of this team's codes"):
        submit(db, team.id, "ABCD-EFGH-JKMN", ALL_FOUR, TODAY)
    with pytest.raises(BarometerError, match="has not started"):
        submit(db, team.id, code, ALL_FOUR, week_monday(week) - timedelta(days=1))
    with pytest.raises(BarometerError, match="closed"):
        submit(db, team.id, code, ALL_FOUR, week_monday(week) + timedelta(days=11))
    # None of the refusals spent the code.
    assert submit(db, team.id, code, ALL_FOUR, TODAY) == week


def test_an_organisation_that_has_not_enabled_it_takes_no_answer(world):
    db, _ = world
    other = save_team(db, "guichet", "Guichet", ["ailleurs"])
    code = new_codes(db, other, week_of(TODAY), 1)[0]
    with pytest.raises(BarometerError, match="no team 'guichet'"):
        submit(db, "guichet", code, ALL_FOUR, TODAY)


def test_the_minimum_group_can_only_be_raised(world):
    db, _ = world
    with pytest.raises(BarometerError, match="can only be raised"):
        save_settings(db, "ville", min_group=DEFAULT_MIN_GROUP - 1)
    assert save_settings(db, "ville", min_group=8).min_group == 8


def test_a_team_with_four_answers_shows_nothing_and_five_show(world):
    db, team = world
    today = date(2026, 12, 20)
    four, five = "2026-W48", "2026-W50"  # different months: see the next test
    answer(db, team, four, 4)
    answer(db, team, five, 5)
    periods = {p["period"]: p for p in team_figures(db, team, "week", today)["periods"]}
    assert periods[four]["shown"] is False and "answers" not in periods[four] and "index" not in periods[four]
    assert periods[five]["shown"] is True and periods[five]["answers"] == 5
    themes = {t["id"]: t["favourable"] for t in periods[five]["themes"]}
    assert themes["semaine"] == 1.0 and themes["incivilites"] == 0.0


def test_weeks_that_would_leave_a_small_remainder_in_their_month_are_withheld(world):
    db, team = world
    weeks = month_weeks("2026-11")  # W45..W48
    answer(db, team, weeks[0], 6)
    answer(db, team, weeks[1], 5)
    answer(db, team, weeks[2], 2)  # the month (13) minus the two weeks shown would be these 2
    figures = team_figures(db, team, "week", date(2026, 12, 20), count=8)
    shown = {p["period"] for p in figures["periods"] if p["shown"]}
    assert weeks[2] not in shown and weeks[0] in shown and weeks[1] not in shown
    month = {p["period"]: p for p in team_figures(db, team, "month", date(2026, 12, 20), count=2)["periods"]}
    assert month["2026-11"]["answers"] == 13


def test_an_open_week_is_never_shown(world):
    db, team = world
    answer(db, team, week_of(TODAY), 9)
    figures = team_figures(db, team, "week", TODAY)
    assert week_of(TODAY) not in {p["period"] for p in figures["periods"]}
