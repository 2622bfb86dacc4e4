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


def _cell(page: str, testid: str) -> str:
    import html
    import re
    inner = re.search(rf'data-testid="{testid}">(.*?)</td>', page, re.S).group(1)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inner)).replace("\u202f", " ").split())


def test_the_fleet_page_shows_temperature_disk_uptime_and_faults(app, client):
    import json

    from web_support import login, quick_user
    db = connect(app.config["DATABASE"])
    add_site(db, "mairie", "Mairie")
    add_kiosk(db, "borne-1", "mairie", "Entrée")
    add_kiosk(db, "borne-2", "mairie", "Étage")
    quick_user(db, "alice", "admin")
    base = {"v": 1, "state": "online", "ts": "2026-12-01T08:00:00Z", "version": "0.2.0", "config_rev": 0,
            "clock": "ntp", "queue": {"pending": 0, "oldest_ts": None, "dropped": 0}}
    record_status(db, "borne-1", "mairie", json.dumps({
        **base, "temp_c": 52.4, "disk_free_mb": 1234, "uptime_s": 3 * 86400 + 4 * 3600 + 60,
        "faults": [{"kind": "storage", "message": "database or disk is full"}]}).encode(), utc_now())
    record_status(db, "borne-2", "mairie", json.dumps({
        **base, "temp_c": 78, "disk_free_mb": 180, "uptime_s": 720, "faults": []}).encode(), utc_now())
    db.close()
    login(client, "alice")
    page = client.get("/fleet").get_data(as_text=True)
    assert _cell(page, "health-borne-1") == "52 °C 1,2 Go libres allumée depuis 3 j 4 h"
    assert _cell(page, "problems-borne-1") == ("⚠ Stockage : un appui n'a pas pu être enregistré"
                                               " database or disk is full")
    assert _cell(page, "health-borne-2") == "⚠ 78 °C (trop chaude) ⚠ 180 Mo libres allumée depuis 12 min"
    assert _cell(page, "problems-borne-2") == "aucun"
    assert _cell(page, "config-borne-1") == "réglages d'origine"
    english = client.get("/fleet?lang=en").get_data(as_text=True)
    assert _cell(english, "health-borne-1") == "52 °C 1.2 GB free up for 3 d 4 h"
