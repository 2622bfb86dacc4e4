"""Kiosk status heartbeats reach the collector's fleet view through a real Mosquitto."""

from __future__ import annotations

import pytest

from collector.db import connect
from collector.fleet import fleet, record_status
from collector.registry import add_kiosk, add_site
from ressenti.protocol import utc_now


@pytest.mark.mosquitto
def test_heartbeat_then_offline(collector_stack, kiosk_factory, mosquitto, wait):
    collector_stack.register("borne-1")
    collector_stack.start()
    k = kiosk_factory("borne-1", mosquitto.address)
    k.kiosk.press(4, "button")

    def state():
        rows = fleet(connect(collector_stack.db_path))
        return rows[0] if rows else {}

    wait(lambda: state().get("online") and state().get("pending") == 0, what="online heartbeat")
    row = state()
    assert row["version"] and row["clock"] == "ntp" and row["config_rev"] == 0
    assert row["gaps"] == []
    k.link.stop()  # a clean stop says offline itself; a crash gets the Last Will
    wait(lambda: state().get("state") == "offline", what="offline status")
    assert state()["online"] is False


@pytest.mark.parametrize("payload", [b"{", b"[]", b'{"v": 1, "state": "dancing"}', b'{"v": 2, "state": "online"}',
                                     b"[" * 200_000])
def test_bad_status_is_ignored_with_a_log(payload, caplog):
    db = connect(":memory:")
    add_site(db, "s", "S")
    add_kiosk(db, "k", "s")
    assert record_status(db, "k", "s", payload, utc_now()) is False
    assert "ignoring status of k" in caplog.text
    assert db["kiosk_status"].count == 0


def test_status_of_unknown_kiosk_is_not_kept():
    db = connect(":memory:")
    assert record_status(db, "ghost", "s", b'{"v": 1, "state": "online"}', utc_now()) is False
    assert db["kiosk_status"].count == 0
