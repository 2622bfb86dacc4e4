"""The demo shows the product (issue 18): a touch kiosk with its follow-up, 3/4/5-face sites with
opening hours, a web form posting over HTTP, and past weeks shaped like a reception desk's day."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from collector.db import connect
from collector.registry import list_sites
from demo.run import Demo
from ressenti.protocol import parse_followup

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def demo(tmp_path):
    app = Demo(port=0, kiosks=3, data_dir=tmp_path / "demo", history_days=21, seed=4, mean_gap_s=0.3)
    app.start()
    yield app
    app.stop()


def test_sites_scales_hours_and_channels(demo, tmp_path, wait):
    db = connect(tmp_path / "demo" / "collector.db")
    sites = {s.id: s for s in list_sites(db)}
    assert sorted(s.scale for s in sites.values()) == [3, 4, 5]
    assert all(s.opening_hours for s in sites.values()), "every site has opening hours"
    channels = {r["channel"] for r in db.query("SELECT DISTINCT channel FROM events")}
    assert channels == {"button", "touch", "web"}

    [(touch_kiosk, settings)] = [(r["kiosk"], json.loads(r["settings"])) for r in db.query(
        "SELECT kiosk, settings FROM kiosk_config")]
    assert parse_followup(settings["followup"], settings["scale"]) is not None, "the follow-up was pushed"
    touch = next(k for k in demo.kiosks if k.kiosk.kiosk_id == touch_kiosk)
    wait(lambda: touch.kiosk.settings.followup is not None, what="the touch kiosk to apply its follow-up")

    answers = Counter(json.loads(r["followup"])["choice"] for r in db.query(
        "SELECT followup FROM events WHERE followup IS NOT NULL"))
    assert set(answers) == {"wait", "answer", "welcome", "place"} and answers.most_common(1)[0][0] == "wait"
    assert db.execute("SELECT COUNT(*) FROM events WHERE followup IS NOT NULL AND channel != 'touch'"
                      ).fetchone()[0] == 0


def test_past_weeks_follow_a_reception_desks_day(demo, tmp_path):
    db = connect(tmp_path / "demo" / "collector.db")
    today = datetime.now(PARIS).date()
    by_hour: Counter[int] = Counter()
    weeks = set()
    for row in db.query("SELECT ts, channel, in_hours FROM events WHERE channel != 'web'"):
        moment = datetime.fromisoformat(row["ts"].replace("Z", "+00:00")).astimezone(PARIS)
        if moment.date() >= today:
            continue  # the live visitors of this run
        assert row["in_hours"] == 1, f"a kiosk answer outside opening hours: {moment}"
        by_hour[moment.hour] += 1
        weeks.add(moment.isocalendar()[:2])
    assert len(weeks) >= 3, "history over past weeks (week over week, heat map)"
    assert not [h for h in by_hour if h < 8 or h >= 18], "nobody at night"
    assert by_hour[10] > 1.5 * by_hour[8] and by_hour[10] > by_hour[12], by_hour
    assert by_hour[14] > by_hour[13] and by_hour[14] > by_hour[17], by_hour
    outside = db.execute("SELECT COUNT(*) FROM events WHERE channel = 'web' AND in_hours = 0").fetchone()[0]
    assert outside > 0, "web answers come in the evening too: the opening-hours view has both"


def test_live_visitors_press_buttons_touch_and_post_the_web_form(demo, tmp_path, wait):
    db = connect(tmp_path / "demo" / "collector.db")

    def live(channel: str) -> int:  # the past weeks were stored with boot "history"
        return db.execute("SELECT COUNT(*) FROM events WHERE channel = ? AND boot != 'history'",
                          [channel]).fetchone()[0]

    wait(lambda: all(live(c) for c in ("button", "touch", "web")), timeout=40,
         what="a live button press, touch answer and web form post")
    wait(lambda: demo.web_form.posted >= 1, what="the web form's ack from POST /api/v1/events")
    rejected = db.execute("SELECT COUNT(*) FROM rejected").fetchone()[0]
    assert rejected == 0, list(db.query("SELECT reason FROM rejected LIMIT 5"))


def test_a_data_folder_from_an_earlier_demo_is_pointed_out(tmp_path, caplog):
    folder = tmp_path / "demo"
    first = Demo(port=0, kiosks=1, data_dir=folder, history_days=0)
    first.start()
    first.stop()
    assert "earlier demo" not in caplog.text, "a folder of this demo is fine"
    (folder / "demo-version").unlink()  # as the demo before issue 18 left it
    again = Demo(port=0, kiosks=1, data_dir=folder, history_days=0)
    again.start()
    again.stop()
    assert f"{folder} was made by an earlier demo" in caplog.text and f"rm -r {folder}" in caplog.text


def test_an_unhappy_morning_raises_an_alert_that_lands_in_the_mailbox(tmp_path, wait):
    """Issue 12 in the demo: the evaluation and the delivery run in the demo process, to a local SMTP server."""
    import email
    import email.policy

    app = Demo(port=0, kiosks=3, data_dir=tmp_path / "demo", history_days=0, seed=7, mean_gap_s=0.3,
               alerts_every_s=2)
    access = app.start()
    try:
        assert access.mailbox == tmp_path / "demo" / "mailbox" / "new"
        db = connect(tmp_path / "demo" / "collector.db")
        wait(lambda: db.execute("SELECT COUNT(*) FROM alerts WHERE kind = 'unhappy_share' AND site = 'mairie-centre'"
                                ).fetchone()[0] == 1, timeout=120, what="an unhappy-share alert at the Mairie")
        assert app.mail is not None
        mail = app.mail

        def mairie_messages() -> list[email.message.EmailMessage]:
            read = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in mail.messages()]
            return [m for m in read if "Mairie — accueil central" in m["Subject"]]

        wait(lambda: mairie_messages(), timeout=30, what="its e-mail in the mailbox")
        message = mairie_messages()[0]
        assert message["To"] == "demo-admin@ville-de-demo.invalid"
        assert message["Subject"].startswith("[ressenti] Alerte levée / Alert raised — Mairie — accueil central")
        body = message.get_body(("plain",)).get_content()
        assert "visages du bas" in body and f"{access.dashboard_url.removesuffix('/dashboard')}/" in body
    finally:
        app.stop()
