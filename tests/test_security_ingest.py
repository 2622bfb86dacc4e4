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



# -- 2. every refusal leaves a row in `rejected` ------------------------------------------

REFUSALS = [
    ("some/other/topic", payload([event(1)]), "topic"),
    ("ressenti/v1/mairie/borne-1/status", payload([event(1)]), "topic"),
    (TOPIC, b"x" * 300_000, "too_large"),
    (TOPIC, payload([event(i) for i in range(1, 502)]), "too_large"),
    (TOPIC, b"\x00\xff not json", "not_json"),
    (TOPIC, b"[" * 200_000, "not_json"),
    (TOPIC, payload([event(1)]).decode().encode("utf-32"), "not_json"),
    (TOPIC, payload([event(1)], v=2), "contract"),
    (TOPIC, payload([event(2), event(1)]), "contract"),
    ("ressenti/v1/mairie/borne-2/events", payload([event(1)]), "topic_mismatch"),
    ("ressenti/v1/mairie/ghost/events", payload([event(1)], kiosk="ghost"), "unknown_producer"),
    ("ressenti/v1/mairie/borne-9/events", payload([event(1)], kiosk="borne-9"), "retired"),
    ("ressenti/v1/other/borne-1/events", payload([event(1)], site="other"), "wrong_site"),
    ("ressenti/v1/mairie/web-form/events", payload([event(1)], kiosk="web-form"), "wrong_path"),
]


@pytest.mark.parametrize("topic, body, reason_class", REFUSALS)
def test_every_refusal_path_leaves_exactly_one_rejected_row_and_no_ack(db, topic, body, reason_class):
    from collector.registry import retire_kiosk

    add_kiosk(db, "borne-9", "mairie")
    retire_kiosk(db, "borne-9")
    add_kiosk(db, "web-form", "mairie", channel="web")
    for _ in range(3):  # resent: counted in the same row
        assert handle_message(db, topic, body) is None  # no ack for the kiosk
    [row] = db.query("SELECT reason_class, count, raw_len, raw_sha256, received_at, last_seen FROM rejected")
    assert (row["reason_class"], row["count"], row["raw_len"]) == (reason_class, 3, len(body))
    assert row["raw_sha256"] == __import__("hashlib").sha256(body).hexdigest()
    assert row["received_at"] <= row["last_seen"]
    assert db["events"].count == 0


def test_a_store_error_is_filed_with_its_reason_and_the_rest_of_the_group_stored_together(tmp_path):
    """A batch the database refuses (here a real SQLite trigger) used to be refused silently."""
    from unittest import mock

    from test_ingest_worker import events_message

    from collector.ingest import IngestService
    from ressenti.mqtt import parse_broker_url

    path = tmp_path / "c.db"
    setup = connect(path)
    add_site(setup, "mairie", "Mairie", scale=4)
    for k in ("borne-1", "borne-2", "borne-3"):
        add_kiosk(setup, k, "mairie")
    setup.conn.execute("CREATE TRIGGER no_borne_2 BEFORE INSERT ON events WHEN NEW.kiosk = 'borne-2'"
                       " BEGIN SELECT RAISE(ABORT, 'borne-2 refused by the database'); END")
    setup.close()
    svc = IngestService(path, parse_broker_url("mqtt://127.0.0.1:1"))
    svc._connection = 1
    try:
        with mock.patch.object(svc.client, "ack") as ack, mock.patch.object(svc.sender, "publish") as publish, \
                mock.patch.object(svc, "_store_apart", side_effect=AssertionError("slow path")):
            svc._store_group([(1, events_message(11, "borne-1", range(1, 4))),
                              (1, events_message(12, "borne-2", range(1, 3))),
                              (1, events_message(13, "borne-3", range(1, 2)))])
        assert sorted(c.args[0] for c in ack.call_args_list) == [11, 12, 13]  # all PUBACKed: all durable
        acked = {c.args[0] for c in publish.call_args_list if c.args[0].endswith("/ack")}
        assert acked == {"ressenti/v1/mairie/borne-1/ack", "ressenti/v1/mairie/borne-3/ack"}
        assert svc.db["events"].count == 4
        [row] = svc.db.query("SELECT kiosk, reason_class, reason FROM rejected")
        assert (row["kiosk"], row["reason_class"]) == ("borne-2", "store_error")
        assert "borne-2 refused by the database" in row["reason"]
    finally:
        svc.db.close()
        svc._lock_file.close()


# -- 5. the rejected table stays bounded ----------------------------------------------------


def test_forty_unparsable_250_kib_bodies_keep_kilobytes_not_megabytes(db):
    for n in range(40):
        handle_message(db, TOPIC, b"{" + bytes([65 + n % 26]) * 250_000)
    [row] = db.query("SELECT count, raw_len, length(raw) AS kept FROM rejected")
    assert (row["count"], row["raw_len"]) == (40, 250_001) and row["kept"] <= 2048


def test_a_new_time_bucket_starts_a_new_row(db):
    from datetime import timedelta

    from collector.rejections import record_rejection

    now = utc_now()
    for moment in (now, now + timedelta(seconds=1), now + timedelta(minutes=25)):
        record_rejection(db, reason="x", raw=b"x", topic=TOPIC, received_at=moment, kiosk="borne-1")
    assert [r["count"] for r in db.query("SELECT count FROM rejected ORDER BY id")] == [2, 1]


def test_purge_removes_old_rejected_rows_and_the_cli_shows_counts(tmp_path):
    from datetime import timedelta

    from click.testing import CliRunner

    from cli import main
    from collector.rejections import record_rejection

    path = tmp_path / "c.db"
    db = connect(path)
    old = utc_now() - timedelta(days=40)
    record_rejection(db, reason="old garbage", raw=b"old", topic=TOPIC, received_at=old, kiosk="borne-1")
    for _ in range(3):
        record_rejection(db, reason="new garbage", raw=b"\x00new", topic=TOPIC, received_at=utc_now(),
                         kiosk="borne-1")
    db.close()
    shown = CliRunner().invoke(main, ["collector", "rejected", "--db", str(path)])
    assert shown.exit_code == 0 and "new garbage" in shown.output and "\t3\t" in shown.output
    purged = CliRunner().invoke(main, ["collector", "purge", "--db", str(path), "--keep-rejected-days", "30"])
    assert "1 rejected rows deleted" in purged.output, purged.output
    assert [r["reason"] for r in connect(path).query("SELECT reason FROM rejected")] == ["new garbage"]


def test_a_producer_refused_again_and_again_is_not_even_decoded():
    from collector.rejections import RefusalLimiter

    now = [0.0]
    limiter = RefusalLimiter(burst=3, per_second=1, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.limited("bad")
        limiter.refused("bad")
    assert limiter.limited("bad") and not limiter.limited("good")
    now[0] = 1.5
    assert not limiter.limited("bad")  # refilled


# -- 4. one misbehaving producer does not slow everyone else -------------------------------


def flood_payloads(kiosk: str, site: str, count: int) -> list[bytes]:
    """What a buggy or hostile kiosk sends: garbage, integers past SQLite, wrong encodings, 250 KiB junk."""
    import random

    rng = random.Random(17)
    good = payload([event(1)], kiosk=kiosk, site=site)
    shapes = [
        lambda n: good.replace(b'"seq": 1', f'"seq": {2**63 + n}'.encode()),
        lambda n: good.replace(b'"up_ms": 2000', f'"up_ms": {2**64 + n}'.encode()),
        lambda n: payload([event(1)], kiosk=kiosk, site=site, dropped_through=2**63 + n),
        lambda n: good.replace(b'"rating": 4', b'"rating": 1e400'),
        lambda n: good.decode().encode("utf-16"),
        lambda n: bytes(rng.randrange(256) for _ in range(200)),
        lambda n: b"[" * 100_000,
        lambda n: b"{" + b"x" * 250_000,
        lambda n: bytes(b ^ (1 << rng.randrange(8)) if rng.random() < 0.02 else b for b in good),
    ]
    return [shapes[n % len(shapes)](n) for n in range(count)]


def test_a_flooding_kiosk_does_not_hold_back_another_sites_acks(mosquitto_factory, collector_stack_factory):
    """3,000 garbage and overflowing messages from one kiosk, while a kiosk of another site sends
    valid batches one at a time like a real kiosk: each of those is acked within seconds (it
    waited more than 30 s before), and the flood is counted in `rejected`."""
    import threading
    import time

    import paho.mqtt.client as mqtt

    from ressenti.protocol import decode_ack, encode_batch, format_ts

    mosquitto = mosquitto_factory("max_queued_messages 0")  # the broker drops nothing: the ingest has it all
    stack = collector_stack_factory(mosquitto.address)
    setup = connect(stack.db_path)
    add_site(setup, "caf", "CAF", scale=4)
    setup.close()
    stack.register("borne-1")
    stack.register("caf-1", site="caf")
    stack.start()

    acked = threading.Event()
    latest: dict[str, int] = {}

    def on_ack(client, userdata, message):
        latest["through"] = decode_ack(message.payload).through
        acked.set()

    honest = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="caf-1")
    honest.on_message = on_ack
    honest.connect(mosquitto.address.host, mosquitto.address.port)
    honest.subscribe("ressenti/v1/caf/caf-1/ack", qos=1)
    honest.loop_start()
    flooder = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="borne-1")
    flooder.max_inflight_messages_set(1000)
    flooder.connect(mosquitto.address.host, mosquitto.address.port)
    flooder.loop_start()
    garbage = flood_payloads("borne-1", "mairie", 3000)
    try:
        infos = [flooder.publish("ressenti/v1/mairie/borne-1/events", body, qos=1) for body in garbage]
        latencies = []
        for seq in range(1, 11):
            ev = event(seq, id=f"00000000-0000-4000-8000-{seq:012d}", ts=format_ts(utc_now()))
            body = encode_batch(kiosk="caf-1", site="caf", epoch="0b8f2c1e-7a1d-4c55-9d0e-3f6a9b1c2d3e",
                                boot="boot-1", up_ms=2000, events=[ev])
            acked.clear()
            start = time.monotonic()
            honest.publish("ressenti/v1/caf/caf-1/events", body, qos=1)
            assert acked.wait(15), f"batch {seq} of the honest kiosk was not acked within 15 s"
            latencies.append(time.monotonic() - start)
            assert latest["through"] == seq
        for info in infos:
            info.wait_for_publish(30)
    finally:
        for c in (honest, flooder):
            c.disconnect()
            c.loop_stop()
    assert max(latencies) < 5, latencies
    counters = stack.ingest.counters
    deadline = time.monotonic() + 60
    while counters.batches < 3010:
        assert time.monotonic() < deadline, f"only {counters.batches} of 3,010 messages handled within 60 s"
        time.sleep(0.1)
    db = connect(stack.db_path)
    filed = db.execute("SELECT SUM(count), COUNT(*) FROM rejected WHERE reason_class != 'event'").fetchone()
    assert filed[0] == counters.rejected > 2900  # every refusal is counted (a few bit flips stay valid)
    assert filed[1] < 100  # in a few rows, not one each
    assert db.execute("SELECT COUNT(*) FROM events WHERE kiosk = 'caf-1'").fetchone()[0] == 10


# -- 6. producers cannot rewrite the past ----------------------------------------------------


def days_ago(days: float) -> str:
    from datetime import timedelta

    from ressenti.protocol import format_ts

    return format_ts(utc_now() - timedelta(days=days))


def test_an_event_dated_back_to_2024_with_ntp_is_rejected_and_the_kiosk_told(db):
    stored = handle_message(db, TOPIC, payload([event(1, ts="2024-03-01T10:00:00.000Z"), event(2)]))
    assert stored.new_ratings == [4] and stored.ack.through == 2
    [(seq, reason)] = stored.ack.rejected
    assert seq == 1 and "more than 92 days before it arrived" in reason
    assert db.execute("SELECT COUNT(*) FROM rejected WHERE seq = 1").fetchone()[0] == 1
    assert db["events"].count == 1


def test_the_accepted_past_is_configurable_per_deployment(db):
    from collector.arrivals import ArrivalPolicy

    body = payload([event(1, ts=days_ago(120))])
    assert handle_message(db, TOPIC, body, policy=ArrivalPolicy(max_past_days=200)).new_ratings == [4]
    with pytest.raises(ValueError, match="late_after_days"):
        ArrivalPolicy(max_past_days=10, late_after_days=30)


def test_a_late_arrival_is_flagged_counted_apart_and_left_out_of_filtered_figures(db):
    from collector.rollups import rebuild_rollups, rollup_rows

    stored = handle_message(db, TOPIC, payload([event(1, ts=days_ago(10)), event(2, ts=days_ago(1))]))
    assert stored.new_ratings == [4, 4] and stored.ack.rejected == ()
    rows = {r["seq"]: r for r in db.query("SELECT seq, late, flags FROM events")}
    assert (rows[1]["late"], json.loads(rows[1]["flags"])) == (1, ["late"])
    assert (rows[2]["late"], rows[2]["flags"]) == (0, "[]")
    [late] = db.query("SELECT kiosk, n FROM late_arrivals")
    assert (late["kiosk"], late["n"]) == ("borne-1", 1)
    raw, filtered = db.execute("SELECT SUM(n_raw), SUM(n_filtered) FROM rollup_hourly").fetchone()
    assert (raw, filtered) == (2, 1)  # raw figures keep it, filtered ones leave it out
    live = rollup_rows(db)
    rebuild_rollups(db)
    assert rollup_rows(db) == live  # the rebuild from raw events agrees


def test_late_arrivals_are_listed_by_the_cli_and_the_api(tmp_path, app, client, admin_headers):
    from click.testing import CliRunner

    from cli import main

    path = app.config["DATABASE"]
    db = connect(path)
    add_site(db, "mairie", "Mairie", scale=4)
    add_kiosk(db, "borne-1", "mairie")
    handle_message(db, TOPIC, payload([event(1, ts=days_ago(20)), event(2, ts=days_ago(20))]))
    db.close()
    [row] = client.get("/api/v1/late", headers=admin_headers).get_json()
    assert (row["site"], row["kiosk"], row["n"]) == ("mairie", "borne-1", 2)
    assert client.get("/api/v1/late").status_code == 401
    shown = CliRunner().invoke(main, ["collector", "late", "--db", path])
    assert shown.exit_code == 0 and "mairie\tborne-1" in shown.output and "\t2\t" in shown.output


def test_a_date_in_2099_is_counted_when_it_arrived_never_in_2099(db):
    stored = handle_message(db, TOPIC, payload([event(1, ts="2099-06-01T10:00:00.000Z", boot="other-boot")]))
    assert stored.new_ratings == [4]
    ts, source, kept = db.execute("SELECT ts, time_source, ts_kiosk FROM events").fetchone()
    assert ts[:4] == str(utc_now().year) and source == "received" and kept.startswith("2099")


def test_a_source_token_cannot_add_events_dated_months_back(app, client, admin_headers):
    made = client.post("/api/v1/sources", headers=admin_headers,
                       json={"id": "formulaire-web", "site": "mairie", "channel": "web"})
    assert made.status_code == 400  # no site yet
    client.post("/api/v1/sites", headers=admin_headers, json={"id": "mairie", "name": "Mairie", "scale": 4})
    token = client.post("/api/v1/sources", headers=admin_headers,
                        json={"id": "formulaire-web", "site": "mairie", "channel": "web"}).get_json()["token"]
    body = json.loads(payload([event(1, ts="2024-06-01T09:00:00.000Z"), event(2)], kiosk="formulaire-web"))
    ack = client.post("/api/v1/events", json=body, headers={"Authorization": f"Bearer {token}"}).get_json()
    assert ack["through"] == 2 and [r["seq"] for r in ack["rejected"]] == [1]


# -- 2 and 5 over HTTP: a leaked source token ---------------------------------------------------


def test_a_leaked_source_token_flooding_garbage_is_filed_then_rate_limited(app, client, admin_headers):
    client.post("/api/v1/sites", headers=admin_headers, json={"id": "mairie", "name": "Mairie", "scale": 4})
    token = client.post("/api/v1/sources", headers=admin_headers,
                        json={"id": "formulaire-web", "site": "mairie", "channel": "web"}).get_json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    other = json.loads(payload([event(1)], kiosk="another-source"))
    assert client.post("/api/v1/events", json=other, headers=auth).status_code == 403
    statuses = [client.post("/api/v1/events", data=b"{garbage", content_type="application/json",
                            headers=auth).status_code for _ in range(40)]
    assert statuses[:19] == [400] * 19 and statuses[-1] == 429
    rows = list(client.get("/api/v1/rejected", headers=admin_headers).get_json())
    by_class = {r["reason_class"]: r["count"] for r in rows}
    assert by_class == {"wrong_source": 1, "not_json": 19, "rate_limited": 21}
    assert all(r["first_seen"] <= r["last_seen"] and "raw_len" in r for r in rows)


def test_a_flood_queued_ahead_does_not_push_another_kiosks_batch_out_of_the_next_group(tmp_path):
    """128 messages of one kiosk queued before one of another: that one is in the first group."""
    from test_ingest_worker import events_message

    from collector.ingest import IngestService
    from ressenti.mqtt import parse_broker_url

    setup = connect(tmp_path / "c.db")
    setup.close()
    svc = IngestService(tmp_path / "c.db", parse_broker_url("mqtt://127.0.0.1:1"))
    try:
        svc.GROUP_SIZE = 16
        for mid in range(1, svc.QUEUE_SIZE):
            svc._queue.put_nowait((1, events_message(mid, "borne-1", range(mid, mid + 1))))
        svc._queue.put_nowait((1, events_message(999, "borne-2", range(1, 2))))
        group, stopping = svc._take_group(svc._queue.get_nowait())
        assert not stopping and len(group) == 16
        assert [m.mid for _, m in group if "borne-2" in m.topic] == [999]
        assert [m.mid for _, m in group if "borne-1" in m.topic] == list(range(1, 16))  # in order
        rest, _ = svc._take_group(None, arrived=False)  # the backlog, without waiting on the queue
        assert [m.mid for _, m in rest] == list(range(16, 32))
    finally:
        svc.db.close()
        svc._lock_file.close()
