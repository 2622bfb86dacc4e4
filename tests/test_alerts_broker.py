"""Issue 12 end to end: presses and a kiosk going away, through a real Mosquitto, the ingest and the evaluator."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from collector.alerts.evaluate import evaluate
from collector.db import connect
from ressenti.protocol import Input, utc_now


@pytest.mark.mosquitto
def test_unhappy_presses_and_a_stopped_kiosk_raise_their_alerts(collector_stack, kiosk_factory, mosquitto, wait):
    collector_stack.register("borne-1")
    collector_stack.start()
    k = kiosk_factory("borne-1", mosquitto.address)
    db = connect(collector_stack.db_path)
    wait(lambda: k.link.connected.is_set(), what="kiosk connected")
    for back, rating in ((40, 1), (30, 1), (20, 2), (10, 4)):  # three of four bottom faces on four, 10 s apart
        k.kiosk.press(rating, Input.BUTTON, pressed_at=k.kiosk.monotonic() - back)
    wait(lambda: db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 4 and k.pending == 0,
         what="presses stored and acked")
    assert evaluate(db).raised == 1
    [alert] = db.query("SELECT kind, figures FROM alerts")
    assert alert["kind"] == "unhappy_share"
    assert json.loads(alert["figures"])["share_pct"] == 75
    wait(lambda: db.execute("SELECT state FROM kiosk_status").fetchone() == ("online",), what="heartbeat")
    k.link.stop()  # says offline, as the Last Will would
    wait(lambda: db.execute("SELECT state FROM kiosk_status").fetchone() == ("offline",), what="offline status")
    assert evaluate(db, utc_now() + timedelta(minutes=5)).raised == 0, "not yet 15 minutes"
    later = evaluate(db, utc_now() + timedelta(minutes=16))
    assert later.raised == 1 and later.resolved == 1  # the 15-minute window has slid past the presses
    kinds = [r["kind"] for r in db.query("SELECT kind FROM alerts WHERE state = 'open'")]
    assert kinds == ["kiosk_offline"]
    db.close()
