"""Ingest against a real Mosquitto: shared subscription groups, and a broker that drops messages."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from collector.db import connect

pytestmark = pytest.mark.mosquitto


def test_two_ingest_processes_share_the_load_without_loss_or_duplicate(
        tmp_path, mosquitto, collector_stack, kiosk_factory, wait):
    for n in range(4):
        collector_stack.register(f"borne-{n}")
    processes = [
        subprocess.Popen([sys.executable, "-m", "cli", "collector", "ingest", "-v", "--shared",
                          "--instance", str(i), "--db", str(collector_stack.db_path), "--broker", mosquitto.url],
                         stderr=subprocess.PIPE, text=True)
        for i in (1, 2)
    ]
    try:
        kiosks = [kiosk_factory(f"borne-{n}", mosquitto.address, ack_timeout_s=1.0) for n in range(4)]
        for k in kiosks:
            wait(k.link.connected.is_set, what="kiosk connected")
        for round_ in range(60):
            for k in kiosks:
                k.kiosk.press(1 + round_ % 4, "button")
        wait(lambda: all(k.pending == 0 for k in kiosks), timeout=30, what="every outbox drained")
    finally:
        logs = []
        for p in processes:
            p.terminate()
            logs.append(p.communicate(timeout=10)[1])
    db = connect(collector_stack.db_path)
    assert db["events"].count == 240
    assert db.execute("SELECT COUNT(*) FROM (SELECT DISTINCT kiosk, seq FROM events)").fetchone()[0] == 240
    total = db.execute("SELECT SUM(n_raw) FROM rollup_hourly").fetchone()[0]
    assert total == 240, "rollups count each event once"
    stored = [len(re.findall(r"stored batch of", log)) for log in logs]
    assert all(n > 0 for n in stored), f"both processes took batches: {stored}"


def test_broker_dropping_queued_messages_is_recovered_by_kiosk_resend(
        mosquitto_factory, collector_stack_factory, kiosk_factory, wait):
    # Mosquitto keeps at most 10 messages for an offline client and drops the
    # rest silently: the broker is a transport, never the record.
    broker = mosquitto_factory("max_queued_messages 10\nlog_type notice")
    stack = collector_stack_factory(broker.address)
    for n in range(15):
        stack.register(f"borne-{n}")
    stack.start()
    stack.stop()  # the broker now queues for the collector's persistent session

    kiosks = [kiosk_factory(f"borne-{n}", broker.address, ack_timeout_s=1.0) for n in range(15)]
    for k in kiosks:
        wait(k.link.connected.is_set, what="kiosk connected")
        for press in range(20):
            k.kiosk.press(1 + press % 4, "button")
    wait(lambda: broker.log.exists() and "messages are being dropped" in broker.log.read_text(), timeout=20,
         what="Mosquitto dropping queued messages")

    stack.start()
    wait(lambda: all(k.pending == 0 for k in kiosks), timeout=60, what="every outbox drained")
    db = connect(stack.db_path)
    assert db["events"].count == 300
    assert stack.summary()["total"] == 300


def test_garbage_on_the_bus_is_recorded_and_the_loop_goes_on(collector_stack, kiosk_factory, mosquitto, wait):
    import paho.mqtt.client as mqtt

    collector_stack.register("borne-1")
    collector_stack.start()
    attacker = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    attacker.connect("127.0.0.1", mosquitto.port)
    attacker.loop_start()
    for payload in (b"\x00\xff not json", b"[1, 2, 3]", b'{"v": 1, "kiosk": 42}', b"{" * 300_000):
        attacker.publish("ressenti/v1/mairie/borne-1/events", payload, qos=1).wait_for_publish(5)
    attacker.publish("ressenti/v1/mairie/ghost/events", b'{"v": 1}', qos=1).wait_for_publish(5)
    attacker.disconnect()
    attacker.loop_stop()

    k = kiosk_factory("borne-1", mosquitto.address)
    k.press(1)
    wait(lambda: collector_stack.summary()["total"] == 1, what="a good press after the garbage")
    reasons = [r["reason"] for r in connect(collector_stack.db_path).query("SELECT reason FROM rejected")]
    assert len(reasons) >= 4
    assert any("not JSON" in r for r in reasons) and any("over the" in r for r in reasons)


def test_ingest_tells_systemd_it_is_ready_then_pets_the_watchdog(tmp_path, collector_stack, mosquitto):
    import os
    import socket

    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(address)
        sock.settimeout(20)
        env = {**os.environ, "NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"}
        process = subprocess.Popen(
            [sys.executable, "-m", "cli", "collector", "ingest", "--db", str(collector_stack.db_path),
             "--broker", mosquitto.url], env=env, stderr=subprocess.DEVNULL)
        try:
            messages = [sock.recv(256).decode() for _ in range(3)]
        finally:
            process.terminate()
            process.wait(20)
    assert messages[0] == "READY=1\nSTATUS=subscribed"
    assert messages[1:] == ["WATCHDOG=1", "WATCHDOG=1"]


def test_a_backlog_of_small_batches_drains_with_every_ack_sent_and_no_disconnect(
        mosquitto_factory, collector_stack_factory, wait):
    """5,000 one-event batches waiting in the collector's persistent session: the
    ingest stores them all, every kiosk gets every ack, and the connection holds."""
    import threading

    import paho.mqtt.client as mqtt

    from ressenti.protocol import decode_ack, encode_batch, format_ts, utc_now

    mosquitto = mosquitto_factory("max_queued_messages 0\nlog_type notice")  # keep the whole backlog
    collector_stack = collector_stack_factory(mosquitto.address)
    kiosks = [f"borne-{n}" for n in range(20)]
    for k in kiosks:
        collector_stack.register(k)
    collector_stack.start()
    collector_stack.stop()  # the broker queues for the collector's session from now on

    acks: dict[str, int] = {}
    lock = threading.Lock()

    def on_ack(client, userdata, message):
        with lock:
            acks[message.topic] = acks.get(message.topic, 0) + 1
            assert decode_ack(message.payload).through >= 1

    watcher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="acks")
    watcher.on_message = on_ack
    watcher.connect(mosquitto.address.host, mosquitto.address.port)
    watcher.subscribe("ressenti/v1/mairie/+/ack", qos=1)
    watcher.loop_start()
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="backlog")
    publisher.max_inflight_messages_set(100)
    publisher.connect(mosquitto.address.host, mosquitto.address.port)
    publisher.loop_start()
    now = format_ts(utc_now())
    infos = []
    for seq in range(1, 251):
        for k in kiosks:
            event = {"id": f"{k[-2:].replace('-', '0')}{seq:06d}-0000-4000-8000-000000000000", "seq": seq, "ts": now,
                     "clock": "ntp", "boot": "b1", "up_ms": seq, "question": "overall", "scale": 4,
                     "rating": 1 + seq % 4, "input": "button", "flags": [], "followup": None, "lang": "fr"}
            body = encode_batch(kiosk=k, site="mairie", epoch="0b8f2c1e-7a1d-4c55-9d0e-3f6a9b1c2d3e", boot="b1",
                                up_ms=seq, events=[event])
            infos.append(publisher.publish(f"ressenti/v1/mairie/{k}/events", body, qos=1))
    for info in infos:
        info.wait_for_publish(30)
    try:
        collector_stack.start()
        wait(lambda: sum(acks.values()) >= 5000 or collector_stack.ingest.counters.disconnects, timeout=90,
             what="an ack for each of the 5,000 batches")
        assert collector_stack.ingest.counters.disconnects == 0, mosquitto.log.read_text()[-2000:]
        assert collector_stack.summary()["total"] == 5000
        assert all(acks.get(f"ressenti/v1/mairie/{k}/ack") == 250 for k in kiosks)
    finally:
        publisher.disconnect()
        watcher.disconnect()
