"""The ingest worker stores what is queued in one transaction, and acks only what committed.

The broker side is proven in test_ingest_broker.py; here the paho client's
ack and publish are recorded, so a failure can be put exactly where wanted.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
import time

import paho.mqtt.client as mqtt
import pytest
from test_ingest import EPOCH, event, payload

import collector.ingest
from collector.db import connect, write_transaction
from collector.ingest import IngestService
from collector.intake import handle_message
from collector.registry import add_kiosk, add_site, retire_kiosk
from collector.rollups import rebuild_rollups, rollup_rows
from ressenti.mqtt import parse_broker_url
from ressenti.protocol import decode_ack


def message(mid: int, topic: str, body: bytes) -> mqtt.MQTTMessage:
    m = mqtt.MQTTMessage(mid=mid, topic=topic.encode())
    m.payload = body
    m.qos = 1
    return m


def events_message(mid: int, kiosk: str, seqs: range, site: str = "mairie") -> mqtt.MQTTMessage:
    body = payload([event(s, rating=1 + s % 4, id=f"{kiosk[-1]}{EPOCH[1:-4]}{s:04d}") for s in seqs],
                   kiosk=kiosk, site=site)
    return message(mid, f"ressenti/v1/{site}/{kiosk}/events", body)


@pytest.fixture
def service(tmp_path, mocker):
    db = connect(tmp_path / "c.db")
    add_site(db, "mairie", "Mairie", scale=4)
    add_site(db, "caf", "CAF", scale=4)
    for kiosk, site in [("borne-1", "mairie"), ("borne-2", "mairie"), ("borne-3", "caf")]:
        add_kiosk(db, kiosk, site)
    db.close()
    svc = IngestService(tmp_path / "c.db", parse_broker_url("mqtt://127.0.0.1:1"))
    svc._connection = 1
    mocker.patch.object(svc.client, "ack")
    mocker.patch.object(svc.sender, "publish")
    yield svc
    svc.db.close()
    svc._lock_file.close()


def published(svc: IngestService) -> dict[str, list]:
    out: dict[str, list] = {}
    for call in svc.sender.publish.call_args_list:
        out.setdefault(call.args[0], []).append(call.args[1])
    return out


def test_a_group_commits_once_and_acks_each_message(service):
    group = [(1, events_message(11, "borne-1", range(1, 4))),
             (1, events_message(12, "borne-2", range(1, 3))),
             (1, events_message(13, "borne-3", range(1, 2), site="caf")),
             (1, events_message(14, "borne-1", range(4, 6)))]
    service._store_group(group)
    assert service.db["events"].count == 8
    assert sorted(c.args[0] for c in service.client.ack.call_args_list) == [11, 12, 13, 14]
    out = published(service)
    acks = out["ressenti/v1/mairie/borne-1/ack"]
    assert [decode_ack(a).through for a in acks] == [3, 5]
    assert decode_ack(out["ressenti/v1/caf/borne-3/ack"][0]).through == 1
    # One live message per site for the whole group, with every new rating.
    live = {json.loads(p)["site"]: json.loads(p)["ratings"] for t, ps in out.items() if "/_live/" in t for p in ps}
    assert sorted(live["mairie"]) == sorted([2, 3, 4] + [2, 3] + [1, 2]) and live["caf"] == [2]
    # The group's rollups, added once before the commit, equal a rebuild from its events.
    live_rollups = rollup_rows(service.db)
    rebuild_rollups(service.db)
    assert rollup_rows(service.db) == live_rollups and live_rollups["rollup_hourly"]


def test_a_message_that_fails_rolls_back_alone_and_is_not_acked(service, mocker, caplog):
    real = collector.ingest.store_message

    def flaky(db, incoming, unknown, writer=None, policy=None):
        stored = real(db, incoming, unknown, writer, policy)  # its rows and counts are made, then it fails
        if "borne-2" in incoming.topic:
            raise OSError("disk hiccup")
        return stored

    mocker.patch.object(collector.ingest, "store_message", flaky)
    garbage = message(15, "ressenti/v1/mairie/borne-1/events", b"{not json")
    service._store_group([(1, events_message(11, "borne-1", range(1, 4))),
                          (1, events_message(12, "borne-2", range(1, 3))), (1, garbage)])
    kiosks = [r["kiosk"] for r in service.db.query("SELECT kiosk FROM events")]
    assert kiosks == ["borne-1"] * 3  # borne-2's rows were rolled back
    rollup = service.db.execute("SELECT SUM(n_raw) FROM rollup_hourly").fetchone()[0]
    assert rollup == 3
    # The failed message is kept in `rejected` with the error (issue 17) and PUBACKed like any
    # refusal, but not acked to the kiosk: the kiosk resends it.
    assert sorted(c.args[0] for c in service.client.ack.call_args_list) == [11, 12, 15]
    assert "disk hiccup" in caplog.text
    # The garbage is kept with its reason, and acked at the MQTT level: resending it would not help.
    reasons = sorted(r["reason"] for r in service.db.query("SELECT reason FROM rejected"))
    assert len(reasons) == 2 and reasons[0].startswith("could not store: OSError('disk hiccup')")
    assert reasons[1].startswith("unusable batch: not JSON")
    assert "ressenti/v1/mairie/borne-2/ack" not in published(service)

    # Sent again, borne-2's events are stored once.
    mocker.patch.object(collector.ingest, "store_message", real)
    service._store_group([(1, events_message(16, "borne-2", range(1, 3)))])
    assert service.db["events"].count == 5


def test_acks_from_an_earlier_connection_are_not_sent(service):
    service._store_group([(0, events_message(11, "borne-1", range(1, 2)))])
    assert service.db["events"].count == 1
    service.client.ack.assert_not_called()  # paho's mids are per connection


def test_the_worker_takes_what_is_queued_up_to_a_group(service):
    items = [(1, events_message(20 + n, "borne-1", range(n + 1, n + 2))) for n in range(IngestService.QUEUE_SIZE + 1)]
    for item in items[:IngestService.QUEUE_SIZE]:
        service._queue.put_nowait(item)
    group, stopping = service._take_group(service._queue.get_nowait())
    assert group == items[:IngestService.GROUP_SIZE] and not stopping
    service._queue.put_nowait(items[-1])
    service._queue.put_nowait(None)
    group, stopping = service._take_group(service._queue.get_nowait())
    assert group == [items[-1]] and stopping


def test_a_group_of_large_batches_stops_at_its_byte_bound(service):
    items = [(1, events_message(n, "borne-1", range(500 * n + 1, 500 * n + 501))) for n in range(12)]
    for item in items:
        service._queue.put_nowait(item)
    group, _ = service._take_group(service._queue.get_nowait())
    sizes = [len(m.payload) for _, m in group]
    assert 1 < len(group) < len(items) and sum(sizes[:-1]) < IngestService.GROUP_BYTES <= sum(sizes)


def test_the_worker_sees_what_another_connection_changed_between_groups(service, tmp_path):
    """The worker keeps producers, sites and watermarks between transactions, until another connection commits."""
    service._store_group([(1, events_message(11, "borne-1", range(1, 4))),
                          (1, events_message(12, "borne-2", range(1, 2)))])
    # Another ingest process stores borne-1's seqs 4 and 5; an admin retires borne-2.
    other = connect(tmp_path / "c.db")
    handle_message(other, "ressenti/v1/mairie/borne-1/events", events_message(0, "borne-1", range(4, 6)).payload)
    retire_kiosk(other, "borne-2")
    other.close()
    service.sender.publish.reset_mock()
    service._store_group([(1, events_message(13, "borne-1", range(4, 7))),
                          (1, events_message(14, "borne-2", range(2, 3)))])
    assert [r[0] for r in service.db.execute("SELECT seq FROM events WHERE kiosk = 'borne-1' ORDER BY seq")] \
        == [1, 2, 3, 4, 5, 6]
    acks = published(service)
    assert decode_ack(acks["ressenti/v1/mairie/borne-1/ack"][0]).through == 6
    assert "ressenti/v1/mairie/borne-2/ack" not in acks  # retired: rejected, not acked
    reasons = [r[0] for r in service.db.execute("SELECT reason FROM rejected WHERE kiosk = 'borne-2'")]
    assert reasons == ["kiosk 'borne-2' is retired"]
    assert service.counters.events == 3 + 1 + 1 and service.counters.rejected == 1


def test_ingest_processes_take_turns_to_write(service, tmp_path):
    """Another ingest process holding the write turn makes the worker wait, and it goes on the moment it ends."""
    other = open(f"{tmp_path / 'c.db'}.ingest-lock", "a")  # noqa: SIM115
    fcntl.flock(other, fcntl.LOCK_EX)
    worker = threading.Thread(target=service._store_group, args=([(1, events_message(11, "borne-1", range(1, 2)))],))
    worker.start()
    worker.join(0.5)
    assert worker.is_alive() and service.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
    fcntl.flock(other, fcntl.LOCK_UN)
    released = time.monotonic()
    worker.join(5)
    assert not worker.is_alive() and time.monotonic() - released < 0.5
    assert service.db["events"].count == 1
    other.close()


def test_a_bug_in_reading_a_message_files_it_and_the_others_go_on(service, mocker, caplog):
    mocker.patch.object(collector.ingest, "read_message", side_effect=[RuntimeError("a bug"), mocker.DEFAULT],
                        wraps=collector.ingest.read_message)
    service._worker.start()
    service._queue.put((1, events_message(11, "borne-1", range(1, 2))))
    service._queue.put((1, events_message(12, "borne-2", range(1, 2))))
    deadline = time.monotonic() + 5
    while service.db.execute("SELECT COUNT(*) FROM events").fetchone()[0] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.alive() and [r[0] for r in service.db.execute("SELECT kiosk FROM events")] == ["borne-2"]
    reasons = [r[0] for r in service.db.execute("SELECT reason FROM rejected")]
    assert reasons == ["could not read: RuntimeError('a bug')"] and "a bug" in caplog.text
    assert "ressenti/v1/mairie/borne-1/ack" not in published(service)  # borne-1 will resend it
    service._queue.put(None)
    service._worker.join(5)


def test_a_commit_that_fails_is_rolled_back(tmp_path):
    """A failed COMMIT (here a deferred foreign key; on a server, a full disk) leaves no transaction open."""
    db = connect(tmp_path / "d.db")
    with pytest.raises(sqlite3.IntegrityError), write_transaction(db):
        db.conn.execute("PRAGMA defer_foreign_keys=ON")
        db.conn.execute("INSERT INTO kiosks (id, site, name) VALUES ('k', 'nowhere', 'k')")
    assert not db.conn.in_transaction and db["kiosks"].count == 0
    db.close()
