"""The ingest path without a broker: validation, idempotent storage, rollups, acks, rejections."""

from __future__ import annotations

import json
import uuid

import pytest

from collector.db import connect
from collector.intake import handle_message
from collector.queries import site_summary
from collector.registry import add_kiosk, add_site, get_site
from collector.rollups import rebuild_rollups, rollup_rows

EPOCH = "0b8f2c1e-7a1d-4c55-9d0e-3f6a9b1c2d3e"
BOOT = "boot-1"
TOPIC = "ressenti/v1/mairie/borne-1/events"


@pytest.fixture
def db(db_target):
    database = connect(db_target)  # SQLite and PostgreSQL (tests/conftest.py db_target)
    add_site(database, "mairie", "Mairie", scale=4)
    add_kiosk(database, "borne-1", "mairie")
    yield database
    database.close()


def event(seq: int, rating: int = 4, **changes) -> dict:
    from ressenti.protocol import format_ts, utc_now
    body = {"id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{EPOCH}-{seq}")), "seq": seq,
            "ts": format_ts(utc_now()), "clock": "ntp", "boot": BOOT, "up_ms": 1000,
            "question": "overall", "scale": 4, "rating": rating, "input": "button",
            "flags": [], "followup": None, "lang": "fr"}
    body.update(changes)
    return body


def payload(events: list, **changes) -> bytes:
    body = {"v": 1, "kiosk": "borne-1", "site": "mairie", "epoch": EPOCH, "boot": BOOT,
            "up_ms": 2000, "events": events}
    body.update(changes)
    return json.dumps(body).encode()


def summary(db):
    return site_summary(db, get_site(db, "mairie"))


def test_batch_is_stored_counted_and_acked(db):
    stored = handle_message(db, TOPIC, payload([event(1, 4), event(2, 1), event(3, 4, flags=["rapid_repeat"])]))
    assert stored.ack.through == 3 and stored.ack.rejected == ()
    s = summary(db)
    assert s["counts"] == {"1": 1, "2": 0, "3": 0, "4": 2}
    assert s["filtered"]["counts"] == {"1": 1, "2": 0, "3": 0, "4": 1}
    assert s["flagged"] == 1


def test_replayed_batch_counts_once(db):
    body = payload([event(1), event(2)])
    handle_message(db, TOPIC, body)
    again = handle_message(db, TOPIC, body)
    assert again.duplicates == 2 and again.new_ratings == []
    assert again.ack.through == 2
    assert summary(db)["total"] == 2
    assert db["events"].count == 2


def test_overlapping_resend_counts_only_new(db):
    handle_message(db, TOPIC, payload([event(1), event(2)]))
    stored = handle_message(db, TOPIC, payload([event(1), event(2), event(3)]))
    assert stored.new_ratings == [4] and stored.ack.through == 3
    assert summary(db)["total"] == 3


def test_same_seq_with_another_id_is_not_counted(db):
    handle_message(db, TOPIC, payload([event(1)]))
    clash = event(1, id=str(uuid.uuid4()))
    stored = handle_message(db, TOPIC, payload([clash]))
    assert stored.duplicates == 1
    assert summary(db)["total"] == 1


def test_an_id_already_stored_under_another_epoch_is_not_counted_again(db):
    """A kiosk whose outbox was restored from a backup replays old ids under a new epoch."""
    handle_message(db, TOPIC, payload([event(1, 2), event(2, 3)]))
    replay = [event(1, 2, id=event(2)["id"]), event(2, 1, id=str(uuid.uuid4())), event(3, 4, id=event(1)["id"])]
    stored = handle_message(db, TOPIC, payload(replay, epoch="01JD6ZQ8V3K5N7P9R1T3W5Y7A9"))
    assert stored.new_ratings == [1] and stored.duplicates == 2
    # The replayed seqs are resolved, with a reason: nothing stays in the kiosk's outbox.
    assert stored.ack.through == 3 and [seq for seq, _ in stored.ack.rejected] == [1, 3]
    assert f"event id {event(2)['id']} is already stored (borne-1 {EPOCH} seq 2)" in stored.ack.rejected[0][1]
    reasons = [r["reason"] for r in db.query("SELECT reason FROM rejected ORDER BY seq")]
    assert len(reasons) == 2 and all(r.endswith(": a replay") for r in reasons)
    assert summary(db)["total"] == 3
    live = rollup_rows(db)
    rebuild_rollups(db)
    assert rollup_rows(db) == live


def test_ack_stops_at_a_gap_and_moves_when_it_fills(db):
    assert handle_message(db, TOPIC, payload([event(1), event(2)])).ack.through == 2
    assert handle_message(db, TOPIC, payload([event(5), event(6)])).ack.through == 2
    assert handle_message(db, TOPIC, payload([event(3), event(4)])).ack.through == 6


def test_dropped_through_moves_the_ack_past_lost_events(db):
    stored = handle_message(db, TOPIC, payload([event(11), event(12)], dropped_through=10))
    assert stored.ack.through == 12


def test_bad_event_is_rejected_with_reason_and_acked(db):
    stored = handle_message(db, TOPIC, payload([event(1), event(2, rating=9), event(3)]))
    assert stored.ack.through == 3
    assert stored.ack.rejected == ((2, "rating 9 outside scale 4"),)
    row = next(db.query("SELECT * FROM rejected"))
    assert (row["kiosk"], row["seq"], row["reason"]) == ("borne-1", 2, "rating 9 outside scale 4")
    assert json.loads(row["raw"])["rating"] == 9
    assert summary(db)["total"] == 2


@pytest.mark.parametrize("topic, body, reason", [
    (TOPIC, b"{oops", "not JSON"),
    (TOPIC, b"[" * 200_000, "not JSON: JSON nested too deeply"),
    (TOPIC, b'{"v": 1}', "missing 'kiosk'"),
    (TOPIC, payload([event(1)], up_ms="soon"), "up_ms"),
    (TOPIC, b"x" * 300_000, "over the"),
    ("ressenti/v1/mairie/borne-2/events", payload([event(1)]), "topic says kiosk 'borne-2'"),
    ("ressenti/v1/other/borne-1/events", payload([event(1)], site="other"), "registered at site 'mairie'"),
    ("ressenti/v1/mairie/ghost/events", payload([event(1)], kiosk="ghost"), "unknown kiosk 'ghost'"),
    ("ressenti/v1/mairie/borne-1/status", payload([event(1)]), "not an events topic"),
    ("some/other/topic", payload([event(1)]), "is not ressenti/v1"),
])
def test_unusable_messages_are_kept_with_reason_and_not_acked(db, topic, body, reason, caplog):
    assert handle_message(db, topic, body) is None
    row = next(db.query("SELECT reason, raw, raw_len FROM rejected"))
    assert reason in row["reason"]
    assert body.startswith(row["raw"]) and row["raw_len"] == len(body)  # a prefix, and the full length
    assert reason in caplog.text
    # ... and nothing else is blocked: the next good batch goes through.
    assert handle_message(db, TOPIC, payload([event(1)])).ack.through == 1


def test_repeated_rejection_is_stored_once(db):
    body = payload([event(1)], kiosk="ghost")
    for _ in range(5):
        handle_message(db, "ressenti/v1/mairie/ghost/events", body)
    assert db["rejected"].count == 1


def test_date_in_2099_is_counted_when_received_and_marked(db, caplog):
    stored = handle_message(db, TOPIC, payload([event(1, ts="2099-06-01T10:00:00Z", boot="old-boot")]))
    assert stored.ack.through == 1
    row = next(db.query("SELECT ts, ts_kiosk, time_source FROM events"))
    assert row["time_source"] == "received"
    assert row["ts_kiosk"] == "2099-06-01T10:00:00.000Z"
    assert not row["ts"].startswith("2099")
    assert "implausible" in caplog.text
    assert summary(db)["total"] == 1, "the rating is counted today, not lost in 2099"


def test_unsynced_clock_is_corrected_from_monotonic_stamps(db):
    handle_message(db, TOPIC, payload([event(1, clock="unsynced", ts="2020-01-01T00:00:00Z", up_ms=1000)],
                                      up_ms=61_000))
    row = next(db.query("SELECT ts, ts_kiosk, time_source, received_at FROM events"))
    assert row["time_source"] == "corrected"
    assert row["ts_kiosk"] == "2020-01-01T00:00:00.000Z"
    from datetime import datetime
    delta = datetime.fromisoformat(row["received_at"]) - datetime.fromisoformat(row["ts"])
    assert delta.total_seconds() == pytest.approx(60, abs=0.01)


@pytest.mark.parametrize("seed", range(8))
def test_random_resends_and_gaps_store_each_event_once_and_ack_the_contiguous_prefix(db, seed):
    """Batches of random overlapping seq subsets, some events broken, some declared dropped:
    every stored event counts once, and the ack is always the longest resolved prefix."""
    import random
    rng = random.Random(seed)
    n = 60
    broken = set(rng.sample(range(1, n + 1), 5))
    resolved: set[int] = set()
    counted: set[int] = set()
    dropped = through = 0
    for _ in range(40):
        seqs = sorted(rng.sample(range(1, n + 1), rng.randint(1, 12)))
        if rng.random() < 0.1:
            dropped = max(dropped, rng.randint(0, 15))
        events = [event(s, rating=1 + s % 4, scale="four" if s in broken else 4) for s in seqs]
        stored = handle_message(db, TOPIC, payload(events, dropped_through=dropped))
        # Below the watermark a seq is settled: sent again (or late, after a
        # declared drop) it is not counted.
        counted.update(s for s in seqs if s > through and s not in broken)
        resolved.update(seqs)
        through = max(through, dropped)
        while through + 1 in resolved:
            through += 1
        assert stored.ack.through == through, (seqs, dropped)
    assert db["events"].count == len(counted)
    assert summary(db)["total"] == len(counted)
