"""Issue 15: barometer retention, old codes and counters go, recent ones stay (collector/barometer/retention.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from cli import main
from collector.barometer.answers import submit
from collector.barometer.codes import new_codes
from collector.barometer.retention import purge_codes, purge_counters
from collector.barometer.settings import save_settings
from collector.barometer.teams import save_team
from collector.barometer.weeks import week_monday, week_of
from collector.db import connect
from collector.registry import add_site

TODAY = date(2026, 12, 4)  # a Friday of 2026-W49
ANSWER = {"semaine": "4", "charge": "3", "public": "4", "soutien": "3", "sens": "4", "incivilites": "2"}


def weeks_ago(n: int, today: date = TODAY) -> str:
    return week_of(today - timedelta(weeks=n))


def weeks_in(db, table: str) -> set[str]:
    return {r[0] for r in db.execute(f"SELECT DISTINCT week FROM {table}")}


@pytest.fixture
def world(tmp_path):
    path = tmp_path / "r.db"
    db = connect(path)
    add_site(db, "mairie", "Mairie", org="ville")
    save_settings(db, "ville", enabled=True)
    team = save_team(db, "accueil", "Accueil", ["mairie"])
    for n in (0, 1, 2, 3, 10, 104, 105, 200):  # a used and an unused code per week
        week = weeks_ago(n)
        used, _ = new_codes(db, team, week, 2)
        submit(db, team.id, used, ANSWER, week_monday(week) + timedelta(days=1))
    new_codes(db, team, week_of(TODAY + timedelta(weeks=1)), 1)  # next week's sheet, printed early
    yield db, path
    db.close()


def test_codes_older_than_two_weeks_go_and_recent_and_future_ones_stay(world):
    db, _ = world
    assert purge_codes(db, TODAY) == 5 * 2  # weeks 3, 10, 104, 105 and 200 weeks ago
    assert weeks_in(db, "barometer_codes") == {weeks_ago(0), weeks_ago(1), weeks_ago(2),
                                               week_of(TODAY + timedelta(weeks=1))}
    assert purge_codes(db, TODAY) == 0
    # the counters are the figures: untouched by the codes' purge
    assert db.execute("SELECT SUM(n) FROM barometer_responses").fetchone()[0] == 8


def test_last_weeks_codes_still_answer_after_the_shortest_purge(world):
    db, _ = world
    team = save_team(db, "accueil", "Accueil", ["mairie"])
    last_week = weeks_ago(1)
    code = new_codes(db, team, last_week, 1)[0]
    wednesday = week_monday(week_of(TODAY)) + timedelta(days=2)  # grace: last week's codes work until today
    purge_codes(db, wednesday, keep_weeks=1)
    assert submit(db, team.id, code, ANSWER, wednesday) == last_week


def test_counters_older_than_two_years_go_from_both_tables(world):
    db, _ = world
    assert purge_counters(db, TODAY) == 2  # 105 and 200 weeks ago
    kept = {weeks_ago(n) for n in (0, 1, 2, 3, 10, 104)} | {week_of(TODAY + timedelta(weeks=1))}
    assert weeks_in(db, "barometer_responses") == kept
    assert weeks_in(db, "barometer_counts") == kept
    assert db.execute("SELECT SUM(n) FROM barometer_responses").fetchone()[0] == 6


def test_a_keep_of_zero_weeks_is_refused(world):
    db, _ = world
    with pytest.raises(ValueError, match="at least one week"):
        purge_codes(db, TODAY, keep_weeks=0)
    with pytest.raises(ValueError, match="at least one week"):
        purge_counters(db, TODAY, keep_weeks=0)


def test_the_purge_command_deletes_old_codes_and_counters(world):
    db, path = world
    today = date.today()
    team = save_team(db, "accueil", "Accueil", ["mairie"])
    # weeks relative to the real today, since the command uses it
    for n in (0, 5, 30):
        new_codes(db, team, weeks_ago(n, today), 1)
    run = CliRunner().invoke
    out = run(main, ["collector", "purge", "--db", str(path), "--keep-barometer-counter-weeks", "20"])
    assert out.exit_code == 0, out.output
    assert "barometer codes deleted" in out.output and "team-weeks of counters deleted" in out.output
    assert weeks_ago(0, today) in weeks_in(db, "barometer_codes")
    assert not {weeks_ago(5, today), weeks_ago(30, today)} & weeks_in(db, "barometer_codes")
    assert weeks_ago(5, today) in weeks_in(db, "barometer_responses")
    assert weeks_ago(30, today) not in weeks_in(db, "barometer_responses")
    refused = run(main, ["collector", "purge", "--db", str(path), "--keep-barometer-weeks", "0"])
    assert refused.exit_code != 0 and "keep-barometer-weeks" in refused.output
