"""Kiosk availability (issue 13): online stretches from the status heartbeats, against the opening hours."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from collector.db import connect
from collector.fleet import record_status
from collector.registry import add_kiosk, add_site, get_site
from collector.uptime import availability

PARIS = ZoneInfo("Europe/Paris")
MONDAY = date(2026, 10, 5)
ONLINE = json.dumps({"v": 1, "state": "online", "ts": "2026-10-05T07:00:00Z"}).encode()
OFFLINE = json.dumps({"v": 1, "state": "offline"}).encode()


@pytest.fixture
def db(tmp_path):
    database = connect(tmp_path / "u.db")
    add_site(database, "mairie", "Mairie", org="ville", opening_hours={"mon": "09:00-12:00"})
    add_kiosk(database, "borne-1", "mairie")
    yield database
    database.close()


def _beats(db, first: datetime, minutes: int) -> None:
    for i in range(minutes):
        assert record_status(db, "borne-1", "mairie", ONLINE, (first + timedelta(minutes=i)).astimezone(UTC))


def test_online_share_of_the_opening_hours(db):
    site = get_site(db, "mairie")
    _beats(db, datetime(2026, 10, 5, 9, 0, tzinfo=PARIS), 90)  # 09:00-10:29, online until 10:30
    record_status(db, "borne-1", "mairie", OFFLINE, datetime(2026, 10, 5, 8, 31, tzinfo=UTC))  # its Last Will
    _beats(db, datetime(2026, 10, 5, 11, 0, tzinfo=PARIS), 15)  # 11:00-11:14, online until 11:15
    _beats(db, datetime(2026, 10, 5, 18, 0, tzinfo=PARIS), 30)  # closed: does not count
    assert db.execute("SELECT COUNT(*) FROM kiosk_uptime").fetchone()[0] == 3  # stretches, not heartbeats
    record_status(db, "borne-1", "mairie", ONLINE, datetime(2026, 10, 5, 7, 0, tzinfo=UTC))  # replayed, old
    assert db.execute("SELECT COUNT(*) FROM kiosk_uptime").fetchone()[0] == 3
    now = datetime(2026, 10, 20, tzinfo=UTC)
    known = availability(db, site, "borne-1", MONDAY, MONDAY, now)
    assert known.share == pytest.approx(1.75 / 3) and known.since is None
    # Over October: Mondays 5, 12 and 19 open before `now` (9 h), 1.75 h online; the history starts at
    # October's first opening, so the share covers the whole period.
    month = availability(db, site, "borne-1", date(2026, 10, 1), date(2026, 10, 31), now)
    assert month.share == pytest.approx(1.75 / 9) and month.since is None
    # From Monday 28 September: that Monday was before the history, which the report says.
    longer = availability(db, site, "borne-1", date(2026, 9, 28), MONDAY, now)
    assert longer.share == pytest.approx(1.75 / 3) and longer.since == datetime(2026, 10, 5, 7, 0, tzinfo=UTC)


def test_no_history_says_so(db):
    site = get_site(db, "mairie")
    known = availability(db, site, "borne-1", MONDAY, MONDAY, datetime(2026, 10, 20, tzinfo=UTC))
    assert known.share is None and known.since is None


def test_the_report_prints_each_kiosks_online_share(tmp_path):
    from reports_support import pdf_text, seed_known

    from collector.registry import update_site
    from collector.reports_pdf.content import content_for, resolve_scope
    from collector.reports_pdf.render import rendering, report_pdf

    db = connect(tmp_path / "r.db")
    seed_known(db)
    update_site(db, "mairie", opening_hours={"mon": "09:00-12:00"})
    for i in range(90):  # 09:00-10:29 on Monday 5 October: online half of its opening hours
        record_status(db, "mairie-borne-1", "mairie", ONLINE,
                      (datetime(2026, 10, 5, 9, 0, tzinfo=PARIS) + timedelta(minutes=i)).astimezone(UTC))
    with rendering("fr"):
        content = content_for(db, resolve_scope(db, org="ville"), "week", MONDAY, datetime(2026, 11, 1, tzinfo=UTC))
        pdf = tmp_path / "week.pdf"
        pdf.write_bytes(report_pdf(db, content))
    rows = [" ".join(line.split()) for line in pdf_text(pdf, layout=True).split("Disponibilité des bornes")[1]
            .splitlines()]
    assert any(row.startswith("mairie-borne-1 mairie 50 % hors ligne") for row in rows), rows
    # No opening hours: every hour counts, and its history starts after the week's first hour.
    assert any(row.startswith("annexe-borne-1 annexe 0 % (depuis le 05/10/2026)") for row in rows), rows
