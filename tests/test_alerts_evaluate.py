"""Issue 12: each alert kind fires and resolves from presses stored by the real store and real status rows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from web_support import Press, store_presses

from collector.alerts.evaluate import evaluate
from collector.alerts.store import create_rule, delete_rule
from collector.db import connect
from collector.fleet import record_status
from collector.registry import add_kiosk, add_site
from ressenti.protocol import format_ts

PARIS = ZoneInfo("Europe/Paris")
# A Tuesday morning; the site is open Monday to Saturday.
NOW = datetime(2026, 12, 1, 10, 45, tzinfo=PARIS).astimezone(UTC)
HOURS = {day: "08:30-12:00,13:30-17:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat")}


@pytest.fixture
def db(tmp_path):
    db = connect(tmp_path / "alerts.db")
    add_site(db, "mairie", "Mairie", org="ville", opening_hours=HOURS)
    add_kiosk(db, "mairie-borne-1", "mairie")
    yield db
    db.close()


def changes(db) -> list[tuple[str, str]]:
    return [(r["kind"], r["change"]) for r in db.query("SELECT kind, change FROM alert_changes ORDER BY id")]


def alerts(db, kind: str) -> list[dict]:
    return list(db.query("SELECT * FROM alerts WHERE kind = ? ORDER BY id", [kind]))


def snapshot(db) -> tuple:
    return tuple(tuple(tuple(r) for r in db.conn.execute(f"SELECT * FROM {t}"))
                 for t in ("alerts", "alert_changes", "alert_watch"))


def status(db, when: datetime, state: str = "online", clock: str = "ntp", kiosk: str = "mairie-borne-1",
           dropped: int = 0) -> None:
    body = {"v": 1, "state": state, "ts": format_ts(when), "clock": clock,
            "queue": {"pending": 0, "dropped": dropped}}
    assert record_status(db, kiosk, "mairie", json.dumps(body).encode(), when)


# -- unhappy share -----------------------------------------------------------------


@pytest.mark.parametrize(("scale", "ratings", "fires"), [
    (4, [1, 2, 2, 3, 4], True),  # 3 of 5 bottom faces (1 and 2 of 4)
    (4, [1, 2, 3, 3, 4], False),  # 2 of 5
    (3, [1, 1, 1, 2, 3], True),  # bottom = 1 of 3
    (3, [1, 1, 2, 2, 3], False),  # the middle face of 3 is not a bottom face
    (5, [1, 2, 3, 3, 5], False),  # nor the middle of 5
    (5, [1, 2, 2, 3, 5], True),
    (4, [1, 1, 1], False),  # all bottom, but fewer than 4 answers
])
def test_unhappy_share_means_the_same_bottom_faces_on_every_scale(db, scale, ratings, fires):
    add_site(db, "s", "Site", org="ville", scale=scale)
    add_kiosk(db, "s-borne", "s")
    store_presses(db, "s-borne", "s", [Press(NOW - timedelta(minutes=10 - i), r) for i, r in enumerate(ratings)])
    evaluate(db, NOW)
    assert len(alerts(db, "unhappy_share")) == (1 if fires else 0)


def test_unhappy_share_fires_once_is_idempotent_and_resolves_when_the_window_slides(db):
    presses = [Press(NOW - timedelta(minutes=m), r) for m, r in ((12, 1), (9, 2), (6, 1), (3, 4))]
    presses.append(Press(NOW - timedelta(minutes=2), 1, flagged=True))  # a filtered press does not count
    store_presses(db, "mairie-borne-1", "mairie", presses)
    first = evaluate(db, NOW)
    assert first.raised == 1
    [alert] = alerts(db, "unhappy_share")
    figures = json.loads(alert["figures"])
    assert (figures["answers"], figures["bottom"], figures["share_pct"]) == (4, 3, 75)
    assert "3 réponses sur 4 (75 %)" in alert["summary_fr"] and "3 of 4 answers (75%)" in alert["summary_en"]
    before = snapshot(db)
    assert evaluate(db, NOW).changes == 0
    assert snapshot(db) == before, "a second pass over the same data changes nothing"
    # One more unhappy answer: the same alert, updated.
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW + timedelta(minutes=1), 1)], first_seq=6)
    assert evaluate(db, NOW + timedelta(minutes=1)).updated == 1
    assert evaluate(db, NOW + timedelta(minutes=20)).resolved == 1
    assert changes(db) == [("unhappy_share", "raised"), ("unhappy_share", "updated"), ("unhappy_share", "resolved")]
    [alert] = alerts(db, "unhappy_share")
    assert alert["state"] == "resolved" and alert["resolved_at"] == format_ts(NOW + timedelta(minutes=20))
    row = next(db.query("SELECT * FROM alert_changes ORDER BY id LIMIT 1"))
    assert (row["site"], row["org"], row["link"]) == ("mairie", "ville", "/dashboard?scope=site:mairie"
                                                      "&from=2026-12-01&to=2026-12-01")


def test_a_rule_overrides_the_defaults_and_a_disabled_rule_turns_the_kind_off(db):
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW - timedelta(minutes=m), r)
                                                   for m, r in ((12, 1), (9, 2), (6, 1), (3, 4))])
    rule = create_rule(db, "unhappy_share", "org:ville", {"share_pct": 80})
    evaluate(db, NOW)
    assert alerts(db, "unhappy_share") == []  # 75 % < 80 %
    create_rule(db, "unhappy_share", "site:mairie", {"share_pct": 70})  # the most specific wins
    evaluate(db, NOW)
    [alert] = alerts(db, "unhappy_share")
    assert alert["rule_id"] != rule["id"]
    db.conn.execute("UPDATE alert_rules SET enabled = 0 WHERE scope = 'site:mairie'")
    evaluate(db, NOW)
    assert alerts(db, "unhappy_share")[0]["state"] == "resolved"
    assert "Règle désactivée" in next(db.query("SELECT summary_fr FROM alert_changes ORDER BY id DESC"))["summary_fr"]


# -- kiosk offline -----------------------------------------------------------------


def test_a_flapping_kiosk_is_one_alert_resolved_only_after_it_stayed_back(db):
    status(db, NOW - timedelta(minutes=40))
    assert evaluate(db, NOW - timedelta(minutes=30)).raised == 0, "3+ minutes silent, but not yet 15"
    assert evaluate(db, NOW).raised == 1
    t = NOW
    for _ in range(5):  # back for two minutes, gone again, ten times over a quarter of an hour
        t += timedelta(minutes=1)
        status(db, t)
        evaluate(db, t + timedelta(seconds=30))
        t += timedelta(minutes=2)
        status(db, t, state="offline")  # the Last Will
        evaluate(db, t + timedelta(seconds=30))
    assert len(alerts(db, "kiosk_offline")) == 1
    assert alerts(db, "kiosk_offline")[0]["state"] == "open"
    assert changes(db) == [("kiosk_offline", "raised")], "flaps change nothing a recipient would see"
    # Back for good: heartbeats every minute; resolved after 10 minutes back.
    for minute in range(12):
        status(db, t + timedelta(minutes=minute))
        evaluate(db, t + timedelta(minutes=minute, seconds=10))
        if minute < 10:
            assert alerts(db, "kiosk_offline")[0]["state"] == "open"
    assert alerts(db, "kiosk_offline")[0]["state"] == "resolved"
    assert changes(db) == [("kiosk_offline", "raised"), ("kiosk_offline", "resolved")]


def test_a_kiosk_off_overnight_is_raised_only_when_the_site_opens(db):
    evening = datetime(2026, 11, 30, 18, 0, tzinfo=PARIS).astimezone(UTC)  # Monday, closed at 17:00
    status(db, evening, state="offline")
    assert evaluate(db, evening + timedelta(hours=3)).raised == 0
    morning = datetime(2026, 12, 1, 8, 40, tzinfo=PARIS).astimezone(UTC)
    assert evaluate(db, morning).raised == 1
    assert "depuis le 30/11 à 18:00" in alerts(db, "kiosk_offline")[0]["summary_fr"]


# -- silence -----------------------------------------------------------------------


def _usual_tuesdays(db, per_hour: int) -> int:
    """The eight previous Tuesdays: `per_hour` answers in each opening hour; returns the next seq."""
    presses = []
    for week in range(8, 0, -1):
        day = (NOW.astimezone(PARIS) - timedelta(weeks=week)).date()
        for hour in (9, 10, 11):
            for i in range(per_hour):
                presses.append(Press(datetime(day.year, day.month, day.day, hour, i * 60 // per_hour,
                                              tzinfo=PARIS), 4))
    return store_presses(db, "mairie-borne-1", "mairie", presses)


def test_silence_during_opening_hours_fires_and_a_press_resolves_it(db):
    seq = _usual_tuesdays(db, 6)  # every 10 minutes: silent for 3 x 10 = 30 min is unusual
    seq = store_presses(db, "mairie-borne-1", "mairie",
                        [Press(datetime(2026, 12, 1, 9, 30, tzinfo=PARIS).astimezone(UTC), 3)], first_seq=seq)
    assert evaluate(db, datetime(2026, 12, 1, 9, 55, tzinfo=PARIS)).raised == 0  # 25 min
    assert evaluate(db, NOW).raised == 1  # 75 min
    [alert] = alerts(db, "silence")
    assert "aucune réponse depuis 09:30" in alert["summary_fr"] and "6 réponses par heure" in alert["summary_fr"]
    assert evaluate(db, NOW + timedelta(minutes=5)).changes == 0, "still silent: nothing new to say"
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW + timedelta(minutes=6), 4)], first_seq=seq)
    assert evaluate(db, NOW + timedelta(minutes=7)).resolved == 1


def test_no_silence_outside_opening_hours_and_the_open_one_closes_with_the_site(db):
    _usual_tuesdays(db, 6)
    sunday_evening = datetime(2026, 11, 29, 20, 0, tzinfo=PARIS)
    assert evaluate(db, sunday_evening).raised == 0
    lunch = datetime(2026, 12, 1, 12, 45, tzinfo=PARIS)  # closed 12:00-13:30
    assert evaluate(db, lunch).raised == 0
    assert evaluate(db, NOW).raised == 1  # nothing since opening at 08:30
    assert json.loads(alerts(db, "silence")[0]["figures"])["silent_since"] == format_ts(
        datetime(2026, 12, 1, 8, 30, tzinfo=PARIS))
    assert evaluate(db, datetime(2026, 12, 1, 20, 0, tzinfo=PARIS)).resolved == 1


def test_no_silence_where_answers_are_rare_anyway(db):
    _usual_tuesdays(db, 1)  # one an hour: below the 2-an-hour minimum, silence is normal
    assert evaluate(db, NOW).raised == 0


# -- unusual volume ----------------------------------------------------------------


def test_unusual_volume_against_the_busiest_usual_hour(db):
    seq = _usual_tuesdays(db, 15)  # busiest usual hour: 15
    burst = [Press(NOW - timedelta(minutes=50) + timedelta(seconds=20 * i), 4, flagged=i % 2 == 0)
             for i in range(120)]
    store_presses(db, "mairie-borne-1", "mairie", burst, first_seq=seq)
    assert evaluate(db, NOW).raised == 1
    figures = json.loads(alerts(db, "unusual_volume")[0]["figures"])
    assert (figures["presses"], figures["busiest_hour"]) == (120, 15)
    assert evaluate(db, NOW + timedelta(hours=2)).resolved == 1


def test_a_busy_site_at_its_usual_volume_is_not_unusual(db):
    seq = _usual_tuesdays(db, 50)
    store_presses(db, "mairie-borne-1", "mairie",
                  [Press(NOW - timedelta(minutes=59) + timedelta(seconds=30 * i), 4) for i in range(100)],
                  first_seq=seq)
    assert evaluate(db, NOW).raised == 0  # 100 < 3 x 50


# -- seq gaps and clock ------------------------------------------------------------


def test_missing_seqs_raise_after_the_hold_and_resolve_when_they_arrive(db):
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW - timedelta(minutes=5), 4)] * 5)
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW - timedelta(minutes=4), 4)] * 3, first_seq=8)
    assert evaluate(db, NOW).raised == 0, "a gap may be in flight: watched first"
    assert evaluate(db, NOW + timedelta(minutes=29)).raised == 0
    assert evaluate(db, NOW + timedelta(minutes=31)).raised == 1
    assert json.loads(alerts(db, "seq_gaps")[0]["figures"]) == {"missing": 2}
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW - timedelta(minutes=5), 4)] * 2, first_seq=6)
    assert evaluate(db, NOW + timedelta(minutes=32)).resolved == 1


def test_an_unsynced_clock_is_raised_after_the_hold(db):
    status(db, NOW, clock="unsynced")
    assert evaluate(db, NOW).raised == 0
    status(db, NOW + timedelta(minutes=31), clock="unsynced")
    assert evaluate(db, NOW + timedelta(minutes=31)).raised == 1
    status(db, NOW + timedelta(minutes=40), clock="unsynced")
    assert evaluate(db, NOW + timedelta(minutes=50)).changes == 0, "no fresh status: no news, the alert stays"
    status(db, NOW + timedelta(minutes=51), clock="ntp")
    assert evaluate(db, NOW + timedelta(minutes=51)).resolved == 1
    assert changes(db) == [("clock_unsynced", "raised"), ("clock_unsynced", "resolved")]


# -- outbox drops ------------------------------------------------------------------


def test_outbox_drops_raise_on_growth_add_up_and_resolve_after_a_quiet_hold(db):
    status(db, NOW, dropped=0)
    assert evaluate(db, NOW).changes == 0, "the first value seen is the baseline"
    status(db, NOW + timedelta(minutes=1), dropped=5)
    assert evaluate(db, NOW + timedelta(minutes=1)).raised == 1
    before = snapshot(db)
    assert evaluate(db, NOW + timedelta(minutes=1)).changes == 0
    assert evaluate(db, NOW + timedelta(minutes=2)).changes == 0, "no new drop: nothing to say yet"
    assert snapshot(db) == before
    status(db, NOW + timedelta(minutes=10), dropped=8)
    assert evaluate(db, NOW + timedelta(minutes=10)).updated == 1
    [alert] = alerts(db, "outbox_drops")
    assert json.loads(alert["figures"]) == {
        "new_drops": 8, "dropped": 8, "since": format_ts(NOW + timedelta(minutes=1)),
        "last_drop_at": format_ts(NOW + timedelta(minutes=10))}
    assert alert["kiosk"] == "mairie-borne-1"
    assert "la borne « mairie-borne-1 » a effacé 8 réponse(s) faute de place" in alert["summary_fr"]
    assert "depuis le 01/12 à 10:46" in alert["summary_fr"]
    status(db, NOW + timedelta(minutes=68), dropped=8)  # heartbeats go on, the counter stays
    assert evaluate(db, NOW + timedelta(minutes=69)).changes == 0, "quiet for 59 minutes: still open"
    assert evaluate(db, NOW + timedelta(minutes=70)).resolved == 1
    assert changes(db) == [("outbox_drops", "raised"), ("outbox_drops", "updated"), ("outbox_drops", "resolved")]
    status(db, NOW + timedelta(minutes=80), dropped=8)
    assert evaluate(db, NOW + timedelta(minutes=80)).changes == 0, "the same counter again is no new drop"


def test_drops_before_the_first_status_are_a_baseline_and_a_new_epoch_counts_from_zero(db):
    status(db, NOW, dropped=500)
    assert evaluate(db, NOW).changes == 0
    status(db, NOW + timedelta(minutes=5), dropped=3)  # a new SD card: its outbox counts again from 0
    assert evaluate(db, NOW + timedelta(minutes=5)).raised == 1
    assert json.loads(alerts(db, "outbox_drops")[0]["figures"])["new_drops"] == 3


def test_a_malformed_dropped_counter_is_ignored(db):
    status(db, NOW, dropped=1)
    evaluate(db, NOW)
    for bad in ("12", -4, 2 ** 70, None):
        body = {"v": 1, "state": "online", "ts": format_ts(NOW), "clock": "ntp", "queue": {"dropped": bad}}
        record_status(db, "mairie-borne-1", "mairie", json.dumps(body).encode(), NOW + timedelta(minutes=1))
        assert evaluate(db, NOW + timedelta(minutes=1)).changes == 0
    status(db, NOW + timedelta(minutes=2), dropped=2)
    assert evaluate(db, NOW + timedelta(minutes=2)).raised == 1


# -- satisfaction drop -------------------------------------------------------------


def test_a_day_well_below_the_same_weekday_baseline_fires_and_recovers(db):
    presses = []
    for week in range(8, 0, -1):  # the eight previous Tuesdays: 8 of 10 satisfied
        day = (NOW.astimezone(PARIS) - timedelta(weeks=week)).date()
        presses += [Press(datetime(day.year, day.month, day.day, 9, i, tzinfo=PARIS), 4 if i < 8 else 1)
                    for i in range(10)]
    today = [Press(datetime(2026, 12, 1, 8, 40, tzinfo=PARIS) + timedelta(minutes=3 * i), 4 if i % 5 < 2 else 2)
             for i in range(25)]  # 40 % satisfied, 25 answers
    seq = store_presses(db, "mairie-borne-1", "mairie", presses + today)
    evaluate(db, NOW)
    [alert] = alerts(db, "satisfaction_drop")
    figures = json.loads(alert["figures"])
    assert (figures["satisfaction_pct"], figures["baseline_pct"], figures["answers"]) == (40, 80, 25)
    assert "40 % de satisfaits aujourd'hui (25 réponses), contre 80 %" in alert["summary_fr"]
    assert evaluate(db, NOW).changes == 0
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW + timedelta(minutes=i), 4) for i in range(25)],
                  first_seq=seq)  # the afternoon goes well: 70 %, within 20 points
    evaluate(db, NOW + timedelta(minutes=30))
    assert alerts(db, "satisfaction_drop")[0]["state"] == "resolved"


def test_no_satisfaction_drop_on_too_few_answers(db):
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW - timedelta(minutes=30 + i), 1) for i in range(10)])
    evaluate(db, NOW)
    assert alerts(db, "satisfaction_drop") == []


def test_an_idle_pass_does_not_need_the_write_lock(db, tmp_path):
    """While ingest holds the write lock, a pass with nothing to change still completes: it only reads."""
    import threading

    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW - timedelta(minutes=m), 1) for m in (8, 6, 4, 2)])
    assert evaluate(db, NOW).raised == 1
    ingest = connect(tmp_path / "alerts.db")
    ingest.conn.execute("BEGIN IMMEDIATE")  # a batch being stored
    done = threading.Event()
    results = []

    def run() -> None:
        evaluator = connect(tmp_path / "alerts.db")
        results.append(evaluate(evaluator, NOW))
        evaluator.close()
        done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert done.wait(10), "the idle pass waited for the write lock"
    finally:
        ingest.conn.execute("ROLLBACK")
        thread.join(40)
        ingest.close()
    assert results[0].changes == 0


def test_answers_arriving_days_late_are_unusual_for_the_kiosk_that_sent_them(db):
    """A kiosk's backlog of presses from last week, received now: the figures of reported days change."""
    last_week = NOW - timedelta(days=6)
    backlog = [Press(last_week + timedelta(minutes=5 * i), 4) for i in range(12)]
    store_presses(db, "mairie-borne-1", "mairie", backlog, received_at=NOW - timedelta(minutes=20))
    assert evaluate(db, NOW).raised == 1
    [alert] = alerts(db, "unusual_volume")
    assert alert["kiosk"] == "mairie-borne-1"
    assert json.loads(alert["figures"])["late"] == 12
    assert "12 réponses de la borne « mairie-borne-1 »" in alert["summary_fr"] and "le 25/11" in alert["summary_fr"]
    assert alert["link"].startswith("/dashboard?scope=site:mairie&from=2026-11-25")
    assert evaluate(db, NOW + timedelta(minutes=45)).resolved == 1, "an hour after they arrived"


def test_a_few_late_answers_or_recent_ones_are_not_unusual(db):
    seq = store_presses(db, "mairie-borne-1", "mairie", [Press(NOW - timedelta(days=3), 4)] * 5,
                        received_at=NOW - timedelta(minutes=5))  # fewer than 10
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW - timedelta(hours=2), 4)] * 20, first_seq=seq,
                  received_at=NOW - timedelta(minutes=5))  # two hours late: a kiosk back from a short outage
    assert evaluate(db, NOW).raised == 0


def test_a_site_rule_can_allow_later_answers(db):
    create_rule(db, "unusual_volume", "site:mairie", {"late_hours": 200})  # 6 days late is within 200 h
    backlog = [Press(NOW - timedelta(days=6) + timedelta(minutes=5 * i), 4) for i in range(12)]
    store_presses(db, "mairie-borne-1", "mairie", backlog, received_at=NOW - timedelta(minutes=20))
    add_site(db, "annexe", "Annexe", org="ville")  # another site at the defaults: the widest read is 24 h
    add_kiosk(db, "annexe-borne", "annexe")
    store_presses(db, "annexe-borne", "annexe", backlog, received_at=NOW - timedelta(minutes=20))
    evaluate(db, NOW)
    assert [a["site"] for a in alerts(db, "unusual_volume")] == ["annexe"]


def _usual_weeks(db, first_seq: int = 1) -> int:
    """Eight previous weeks, Monday to Saturday at 9:00: 8 of 10 satisfied each day (480 answers, 80 %)."""
    presses = []
    monday = (NOW.astimezone(PARIS) - timedelta(days=NOW.astimezone(PARIS).weekday())).date()
    for week in range(8, 0, -1):
        for d in range(6):
            day = monday - timedelta(weeks=week) + timedelta(days=d)
            presses += [Press(datetime(day.year, day.month, day.day, 9, i, tzinfo=PARIS), 4 if i < 8 else 1)
                        for i in range(10)]
    return store_presses(db, "mairie-borne-1", "mairie", presses, first_seq=first_seq)


def _bad_week(n: int) -> list[Press]:
    """This Monday and this Tuesday morning: `n` answers, 30 % satisfied."""
    return [Press(datetime(2026, 11, 30, 9, 0, tzinfo=PARIS) + timedelta(minutes=5 * i), 4 if i % 10 < 3 else 1)
            for i in range(n // 2)] + \
        [Press(datetime(2026, 12, 1, 8, 40, tzinfo=PARIS) + timedelta(minutes=i), 4 if i % 10 < 3 else 1)
         for i in range(n - n // 2)]


def test_a_week_well_below_the_previous_weeks_fires_and_recovers(db):
    seq = store_presses(db, "mairie-borne-1", "mairie", _bad_week(60), first_seq=_usual_weeks(db))
    create_rule(db, "satisfaction_drop", "all", enabled=False)  # only the week kind is looked at
    evaluate(db, NOW)
    [alert] = alerts(db, "satisfaction_drop_week")
    figures = json.loads(alert["figures"])
    assert figures == {"week": "2026-11-30", "answers": 60, "satisfaction_pct": 30, "baseline_pct": 80,
                       "baseline_answers": 480, "weeks": 8}
    assert alert["summary_fr"].startswith("Mairie : 30 % de satisfaits cette semaine (60 réponses), contre 80 %")
    assert alert["link"] == "/dashboard?scope=site:mairie&from=2026-11-30&to=2026-12-01"
    assert evaluate(db, NOW).changes == 0
    store_presses(db, "mairie-borne-1", "mairie", [Press(NOW + timedelta(minutes=i % 60), 4) for i in range(90)],
                  first_seq=seq)  # a good afternoon: 108 of 150, 72 %, within 15 points
    evaluate(db, NOW + timedelta(minutes=61))
    assert alerts(db, "satisfaction_drop_week")[0]["state"] == "resolved"


def test_no_week_drop_without_a_baseline_or_below_the_minimum_count(db):
    seq = store_presses(db, "mairie-borne-1", "mairie", _bad_week(60))
    evaluate(db, NOW)
    assert alerts(db, "satisfaction_drop_week") == [], "no previous weeks to compare with"
    _usual_weeks(db, first_seq=seq)
    rule = create_rule(db, "satisfaction_drop_week", "site:mairie", {"min_count": 61})
    evaluate(db, NOW)
    assert alerts(db, "satisfaction_drop_week") == [], "60 answers this week, the rule asks for 61"
    delete_rule(db, rule["id"])
    evaluate(db, NOW)
    assert len(alerts(db, "satisfaction_drop_week")) == 1
