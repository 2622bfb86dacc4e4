"""Registry, sources, opening hours, gaps, rollups, retention and migrations (issue 5)."""

from __future__ import annotations

import json
import sqlite3
import uuid
from datetime import datetime, timedelta

import pytest

from collector.audit import seq_gaps
from collector.db import MIGRATIONS, connect, migrate
from collector.intake import UnknownKiosks, handle_message
from collector.queries import site_summary
from collector.registry import (
    RegistryError,
    add_kiosk,
    add_site,
    get_producer,
    get_site,
    move_kiosk,
    parse_opening_hours,
    retire_kiosk,
)
from collector.retention import purge_raw_events
from collector.rollups import rebuild_rollups, rollup_rows
from ressenti.protocol import format_ts, utc_now

EPOCH = "7f0c5d9e-2b41-4f7a-9c3e-8d1b6a5f4e21"


def event(seq: int, rating: int = 4, ts: datetime | None = None, **changes) -> dict:
    body = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{changes.get('kiosk', '')}{EPOCH}{seq}")), "seq": seq,
            "ts": format_ts(ts or utc_now()), "clock": "ntp", "boot": "b1", "up_ms": 10,
            "question": "overall", "scale": 4, "rating": rating, "input": "touch", "flags": [],
            "followup": None, "lang": "fr"}
    changes.pop("kiosk", None)
    body.update(changes)
    return body


def batch(kiosk: str, site: str, events: list, **changes) -> bytes:
    body = {"v": 1, "kiosk": kiosk, "site": site, "epoch": EPOCH, "boot": "b1", "up_ms": 20, "events": events}
    body.update(changes)
    return json.dumps(body).encode()


def send(db, kiosk: str, site: str, events: list, **kw):
    return handle_message(db, f"ressenti/v1/{site}/{kiosk}/events", batch(kiosk, site, events), **kw)


@pytest.fixture
def db(db_target):
    database = connect(db_target)  # SQLite and PostgreSQL (tests/conftest.py db_target)
    add_site(database, "mairie", "Mairie", scale=4,
             opening_hours={d: "08:30-12:00,13:30-17:00" for d in ("mon", "tue", "wed", "thu", "fri")})
    add_kiosk(database, "borne-1", "mairie")
    yield database
    database.close()


# -- opening hours ------------------------------------------------------------


@pytest.mark.parametrize("spec, message", [
    ({"lun": "08:00-12:00"}, "must map"),
    ({"mon": "8-12"}, "HH:MM-HH:MM"),
    ({"mon": "12:00-08:00"}, "ends before"),
    ({"mon": "25:00-26:00"}, "time of day"),
])
def test_bad_opening_hours(spec, message):
    with pytest.raises(RegistryError, match=message):
        parse_opening_hours(spec)


@pytest.mark.parametrize("local, is_open", [
    ("2026-11-23T09:00", True),  # Monday morning
    ("2026-11-23T12:30", False),  # lunch
    ("2026-11-23T17:00", False),  # closing time
    ("2026-11-22T10:00", False),  # Sunday
    ("2026-11-23T08:30", True),
])
def test_site_is_open_in_its_own_time_zone(db, local, is_open):
    site = get_site(db, "mairie")
    moment = datetime.fromisoformat(local).replace(tzinfo=site.zone)
    assert site.is_open(moment) is is_open


def test_presses_outside_hours_are_kept_flagged_and_can_be_left_out(db):
    site = get_site(db, "mairie")
    monday = datetime(2026, 11, 16, tzinfo=site.zone)
    opened, closed = monday.replace(hour=10), monday.replace(hour=21)
    send(db, "borne-1", "mairie", [event(1, 4, opened), event(2, 1, closed), event(3, 1, closed)])
    every = site_summary(db, site, monday.date(), hours="all")
    inside = site_summary(db, site, monday.date(), hours="open")
    assert every["total"] == 3 and every["outside_hours"] == 2
    assert inside["total"] == 1 and inside["counts"]["4"] == 1
    assert [r["in_hours"] for r in db.query("SELECT in_hours FROM events ORDER BY seq")] == [1, 0, 0]


# -- rollups -------------------------------------------------------------------


def test_rebuild_equals_live_rollups(db):
    add_site(db, "ccas", "CCAS", scale=3, tz="Indian/Reunion")
    add_kiosk(db, "borne-2", "ccas")
    site = get_site(db, "mairie")
    start = datetime(2026, 11, 16, 7, tzinfo=site.zone)
    reasons = ("wait", "place", "staff")
    events = [event(i, 1 + i % 4, start + timedelta(minutes=37 * i),
                    flags=["rapid_repeat"] if i % 5 == 0 else [],
                    followup={"question": "why", "choice": reasons[i % 3]} if i % 4 < 2 else None)
              for i in range(1, 300)]
    for lo in range(0, len(events), 50):
        send(db, "borne-1", "mairie", events[lo:lo + 50])
    send(db, "borne-2", "ccas", [event(i, 1 + i % 3, scale=3, kiosk="borne-2") for i in range(1, 40)])
    live = rollup_rows(db)
    assert len(live["rollup_hourly"]) > 50 and len(live["rollup_followup"]) > 50
    assert {row[0] for row in live["rollup_local"]} == {"mairie", "ccas"}
    assert {row[1] for row in live["rollup_heat"]} == {"day", "month", "year"}
    assert sum(row[-2] for row in live["rollup_followup"]) == 149, "every answer counted once"
    db.conn.execute("UPDATE rollup_hourly SET n_raw = n_raw + 7")  # damage them
    db.conn.execute("UPDATE rollup_followup SET n_filtered = 0")
    db.conn.execute("DELETE FROM rollup_heat WHERE span = 'month'")
    db.conn.execute("UPDATE rollup_local SET n_raw = 1 WHERE span = 'week'")
    assert rollup_rows(db) != live
    rebuild_rollups(db)
    assert rollup_rows(db) == live


# -- gaps, dropped events, retention ----------------------------------------------


def test_gap_audit_names_missing_and_dropped_ranges(db):
    send(db, "borne-1", "mairie", [event(1), event(2), event(6), event(7)])
    assert seq_gaps(db, "borne-1") == [{"epoch": EPOCH, "from": 3, "to": 5, "count": 3, "reason": "missing"}]
    handle_message(db, "ressenti/v1/mairie/borne-1/events",
                   batch("borne-1", "mairie", [event(12)], dropped_through=10))
    assert seq_gaps(db, "borne-1") == [
        {"epoch": EPOCH, "from": 3, "to": 5, "count": 3, "reason": "dropped_by_kiosk"},
        {"epoch": EPOCH, "from": 8, "to": 10, "count": 3, "reason": "dropped_by_kiosk"},
        {"epoch": EPOCH, "from": 11, "to": 11, "count": 1, "reason": "missing"},
    ]


def test_retention_keeps_figures_and_exactly_once(db):
    from collector.arrivals import ArrivalPolicy

    site = get_site(db, "mairie")
    old = utc_now() - timedelta(days=500)
    long_past = ArrivalPolicy(max_past_days=3660)  # a deployment that accepts events this old
    send(db, "borne-1", "mairie", [event(1, 4, old), event(2, 4, old), event(3, 1)], policy=long_past)
    figures_before = site_summary(db, site, old.astimezone(site.zone).date(), utc_now().date())
    assert purge_raw_events(db, 400) == 2
    assert db["events"].count == 1
    after = site_summary(db, site, old.astimezone(site.zone).date(), utc_now().date())
    assert after["total"] == figures_before["total"] == 3
    again = send(db, "borne-1", "mairie", [event(1, 4, old), event(2, 4, old)], policy=long_past)  # a late resend
    assert again.new_ratings == [] and again.ack.through == 3
    assert seq_gaps(db, "borne-1") == [], "purged events are not reported as lost"


# -- producers -------------------------------------------------------------------


def test_unknown_kiosk_lands_unassigned_then_moves_with_its_events(db):
    stored = send(db, "borne-9", "mairie", [event(1), event(2, 1)], unknown_kiosks=UnknownKiosks.UNASSIGNED)
    assert stored.site == "unassigned" and stored.ack.through == 2
    assert site_summary(db, get_site(db, "unassigned"))["total"] == 2
    assert move_kiosk(db, "borne-9", "mairie") == 2
    assert site_summary(db, get_site(db, "mairie"))["total"] == 2
    assert site_summary(db, get_site(db, "unassigned"))["total"] == 0
    assert send(db, "borne-9", "mairie", [event(3)]).site == "mairie"


def test_moved_kiosk_keeps_past_figures_where_they_were(db):
    add_site(db, "ccas", "CCAS")
    send(db, "borne-1", "mairie", [event(1)])
    assert move_kiosk(db, "borne-1", "ccas") == 0
    assert site_summary(db, get_site(db, "mairie"))["total"] == 1
    assert send(db, "borne-1", "mairie", [event(2)]) is None, "old site in its batches: rejected"
    assert send(db, "borne-1", "ccas", [event(2)]).site == "ccas"


def test_retired_kiosk_is_rejected(db):
    retire_kiosk(db, "borne-1")
    assert send(db, "borne-1", "mairie", [event(1)]) is None
    assert "retired" in next(db.query("SELECT reason FROM rejected"))["reason"]


def test_kiosk_cannot_be_silently_moved_by_add(db):
    add_site(db, "ccas", "CCAS")
    with pytest.raises(RegistryError, match="kiosk move"):
        add_kiosk(db, "borne-1", "ccas")


def test_source_cannot_publish_over_mqtt(db):
    add_kiosk(db, "site-web", "mairie", channel="web")
    assert send(db, "site-web", "mairie", [event(1)]) is None
    assert "HTTP source" in next(db.query("SELECT reason FROM rejected"))["reason"]


# -- migrations ---------------------------------------------------------------------


def test_migrations_upgrade_a_version_1_database(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    from sqlite_utils import Database
    old = Database(conn)
    MIGRATIONS[0](old)
    conn.execute("PRAGMA user_version = 1")
    old["orgs"].insert({"id": "default", "name": "default"})
    old["sites"].insert({"id": "mairie", "org": "default", "name": "Mairie", "tz": "Europe/Paris", "scale": 4})
    old["rollup_hourly"].insert({"site": "mairie", "hour": "2026-01-05T09", "question": "overall",
                                 "channel": "button", "scale": 4, "rating": 4, "n_raw": 3, "n_filtered": 2})
    conn.close()
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert next(db.query("SELECT n_raw, in_hours FROM rollup_hourly")) == {"n_raw": 3, "in_hours": 1}
    assert migrate(db) == len(MIGRATIONS), "running again changes nothing"
    assert get_producer(db, "nobody") is None


def test_migration_6_fills_follow_up_rollups_from_stored_events(tmp_path):
    path = tmp_path / "v5.db"
    conn = sqlite3.connect(path, isolation_level=None)
    from sqlite_utils import Database
    old = Database(conn)
    for step in MIGRATIONS[:5]:
        step(old)
    conn.execute("PRAGMA user_version = 5")
    old["orgs"].insert({"id": "default", "name": "default"})
    old["sites"].insert({"id": "mairie", "org": "default", "name": "Mairie", "tz": "Europe/Paris", "scale": 4})
    answers = [("why", "wait", "[]", 1), ("why", "wait", '["burst"]', 1), ("why", "wait", "[]", 0),
               ("why", "place", "[]", 1), (None, None, "[]", 1)]
    for seq, (question, choice, flags, in_hours) in enumerate(answers, start=1):
        old["events"].insert({
            "id": f"e{seq}", "kiosk": "borne-1", "epoch": EPOCH, "seq": seq, "site": "mairie",
            "question": "overall", "scale": 4, "rating": 1, "channel": "touch", "flags": flags,
            "followup": json.dumps({"question": question, "choice": choice}) if question else None,
            "lang": "fr", "ts": "2026-01-05T09:10:00.000Z", "hour": "2026-01-05T09", "in_hours": in_hours})
    conn.close()
    db = connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    rows = sorted(db.execute("SELECT followup_question, choice, in_hours, n_raw, n_filtered FROM rollup_followup"))
    assert rows == [("why", "place", 1, 1, 1), ("why", "wait", 0, 1, 1), ("why", "wait", 1, 2, 1)]
    migrated = rollup_rows(db)["rollup_followup"]
    rebuild_rollups(db)
    assert rollup_rows(db)["rollup_followup"] == migrated, "what a rebuild makes"
