"""The ingest under buggy or hostile producers (issue 17): each test is named after what it stops."""

from __future__ import annotations

import json

import pytest
from test_ingest import TOPIC, event, payload

from collector.db import connect
from collector.fleet import record_status
from collector.intake import handle_message
from collector.registry import add_kiosk, add_site
from ressenti.protocol import utc_now


@pytest.fixture
def db():
    database = connect(":memory:")
    add_site(database, "mairie", "Mairie", scale=4)
    add_kiosk(database, "borne-1", "mairie")
    yield database
    database.close()


# -- 1. integer bounds --------------------------------------------------------------------


@pytest.mark.parametrize("field, value", [("seq", 2**63), ("seq", 2**64), ("up_ms", 2**63), ("up_ms", 2**70)])
def test_an_event_integer_past_sqlite_is_rejected_with_its_reason_not_an_overflow(db, field, value):
    bad = event(2)
    bad[field] = value
    stored = handle_message(db, TOPIC, payload([event(1), bad, event(3)]))
    assert stored is not None
    assert db["events"].count == 2
    reasons = [r["reason"] for r in db.query("SELECT reason FROM rejected")]
    assert len(reasons) == 1 and f"{field} {value}" in reasons[0]


@pytest.mark.parametrize("field, value", [("up_ms", 2**63), ("dropped_through", 2**64), ("dropped_through", 2**63)])
def test_a_batch_integer_past_sqlite_refuses_the_batch_and_acks_nothing(db, field, value):
    assert handle_message(db, TOPIC, payload([event(1)], **{field: value})) is None
    assert db["events"].count == 0 and db["streams"].count == 0
    [row] = db.query("SELECT reason FROM rejected")
    assert field in row["reason"]


def test_a_status_with_numbers_past_sqlite_is_kept_without_them():
    db = connect(":memory:")
    add_site(db, "s", "S")
    add_kiosk(db, "k", "s")
    body = {"v": 1, "state": "online", "uptime_s": 2**64, "config_rev": 2**63, "disk_free_mb": 12,
            "queue": {"pending": 2**80, "dropped": -(2**70)}}
    assert record_status(db, "k", "s", json.dumps(body).encode(), utc_now())
    row = db["kiosk_status"].get("k")
    assert (row["uptime_s"], row["config_rev"], row["pending"], row["dropped"], row["disk_free_mb"]) == (
        None, None, None, None, 12)


# -- 3. UTF-8 only ------------------------------------------------------------------------


def test_a_utf16_batch_is_refused_as_such_not_guessed(db):
    body = payload([event(1)]).decode().encode("utf-16")
    assert handle_message(db, TOPIC, body) is None
    [row] = db.query("SELECT reason FROM rejected")
    assert "UTF-16" in row["reason"] and db["events"].count == 0


def test_a_status_with_a_lone_surrogate_is_ignored_not_a_storage_error():
    db = connect(":memory:")
    add_site(db, "s", "S")
    add_kiosk(db, "k", "s")
    assert not record_status(db, "k", "s", b'{"v": 1, "state": "online", "version": "\\ud800"}', utc_now())

