"""A press travels from a mock GPIO pin to the summary API through a real Mosquitto."""

from __future__ import annotations

import pytest

from collector.db import connect

pytestmark = pytest.mark.mosquitto


def test_press_reaches_summary_and_leaves_outbox(collector_stack, kiosk_factory, mosquitto, wait):
    collector_stack.register("borne-1")
    collector_stack.start()
    k = kiosk_factory("borne-1", mosquitto.address)
    wait(k.link.connected.is_set, what="kiosk connected")

    k.press(1)  # leftmost = best face = rating 4
    assert k.led_on(1), "the LED lights once the press is committed"
    k.press(4)  # rating 1
    k.press(4)

    wait(lambda: collector_stack.summary()["total"] == 3, what="3 presses in the summary")
    summary = collector_stack.summary()
    assert summary["counts"] == {"1": 2, "2": 0, "3": 0, "4": 1}
    assert summary["satisfaction"] == pytest.approx(1 / 3, abs=1e-3)
    wait(lambda: k.pending == 0, what="outbox emptied by the collector's ack")


def test_collector_outage_loses_nothing_and_counts_nothing_twice(collector_stack, kiosk_factory, mosquitto, wait):
    collector_stack.register("borne-1")
    collector_stack.start()
    k = kiosk_factory("borne-1", mosquitto.address, ack_timeout_s=0.5)
    wait(k.link.connected.is_set, what="kiosk connected")
    k.press(2)
    wait(lambda: collector_stack.summary()["total"] == 1, what="first press counted")
    wait(lambda: k.pending == 0, what="first press acked")

    collector_stack.stop()
    for n in range(50):
        k.press(1 + n % 4)
    assert k.pending == 50
    # While the collector is away the kiosk resends unacked batches; the broker
    # queues every copy for the collector's persistent session.
    wait(lambda: k.link.batches_sent >= 4, what="kiosk resending while unacked")
    assert k.pending == 50, "nothing leaves the outbox without the collector's ack"

    collector_stack.start()
    wait(lambda: k.pending == 0, timeout=20, what="outbox drained after restart")
    assert collector_stack.summary()["total"] == 51
    db = connect(collector_stack.db_path)
    assert db["events"].count == 51
    assert db.execute("SELECT COUNT(DISTINCT seq) FROM events").fetchone()[0] == 51
    assert collector_stack.ingest.counters.duplicates > 0, "the resent copies were seen and skipped"
