"""Broker down: taps on the touch screen still get their thank-you, and all arrive once later.

A real Mosquitto, a real collector, a real Kiosk + Link; the Kivy loop is
stepped in-process under Xvfb. The broker is stopped, citizens keep tapping,
then a new Mosquitto starts on the same port and the queue drains.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from collector.db import connect
from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox
from kiosk.touch import testing
from ressenti.protocol import Clock, KioskSettings

pytestmark = pytest.mark.mosquitto


@pytest.fixture(scope="module")
def window() -> Iterator[Any]:
    if not os.environ.get("DISPLAY"):
        pytest.fail("no DISPLAY: run the touch tests under Xvfb, as ./dev test does")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in testing.TEST_ENVIRONMENT.items():
            mp.setenv(key, value)
        from kiosk.touch import env

        env.prepare(fullscreen=False, size=(800, 480))
        yield testing.open_window((800, 480))


def restart_on_same_port(broker: Any) -> None:
    """Start Mosquitto again from the same config file (same port); the fixture stops it."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    broker.process = subprocess.Popen([binary, "-c", str(broker.conf)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", broker.port), timeout=0.2).close()
            return
        except OSError:
            assert broker.process.poll() is None, "mosquitto did not restart"
            assert time.monotonic() < deadline, "mosquitto did not listen again within 10 s"
            testing.pump_for(0.05)


@pytest.fixture
def touch_kiosk(tmp_path, window, mosquitto) -> Iterator[Any]:
    from kiosk.touch.controller import TouchController, TouchOptions

    outbox = Outbox(tmp_path / "kiosk" / "outbox.db")
    kiosk = Kiosk("borne-tactile-1", "mairie", outbox, settings=KioskSettings(scale=4),
                  clock=ClockState(Clock.NTP))
    link = Link(kiosk, mosquitto.address, ack_timeout_s=1.0, heartbeat_s=5)
    controller = TouchController(kiosk, link=link,
                                 options=TouchOptions(thanks_s=0.2, idle_after_s=600))
    controller.history = []
    controller.screens.bind(current=lambda _sm, name: controller.history.append(name))
    window.add_widget(controller.root)
    link.start()
    yield controller
    window.remove_widget(controller.root)
    controller.close()
    link.stop()
    outbox.close()


def tap_and_get_thanks(touch: Any, position: int) -> None:
    touch.history.clear()
    testing.tap(touch.question.tiles[position])
    testing.pump(lambda: "thanks" in touch.history, what="the thank-you screen")
    testing.pump(lambda: touch.screen == "question", what="the question again")


def test_broker_down_taps_thanked_queued_then_delivered_once(touch_kiosk, mosquitto,
                                                             collector_stack):
    touch = touch_kiosk
    link, outbox = touch.link, touch.kiosk.outbox
    collector_stack.register("borne-tactile-1")
    collector_stack.start()
    testing.pump(link.connected.is_set, timeout=10, what="the kiosk link to connect")

    tap_and_get_thanks(touch, 0)
    testing.pump(lambda: outbox.state().pending == 0, timeout=10, what="the first tap acked")

    mosquitto.stop()
    testing.pump(lambda: not link.connected.is_set(), timeout=10, what="the link to notice")
    for n in range(12):
        tap_and_get_thanks(touch, n % 4)
        assert outbox.state().pending == n + 1, "each tap waits in the outbox"
    testing.pump_for(1.5)  # reconnect attempts and ack timeouts go by: nothing leaves
    assert outbox.state().pending == 12

    restart_on_same_port(mosquitto)
    testing.pump(lambda: outbox.state().pending == 0, timeout=30,
                 what="the queue to drain after the broker came back")
    db = connect(collector_stack.db_path)
    testing.pump(lambda: db["events"].count == 13, timeout=10, what="13 events stored")
    rows = db.execute("SELECT COUNT(*), COUNT(DISTINCT id), COUNT(DISTINCT seq), MAX(seq) "
                      "FROM events WHERE kiosk = ?", ["borne-tactile-1"]).fetchone()
    assert rows == (13, 13, 13, 13), "every tap stored exactly once"
    ratings = [r[0] for r in db.execute(
        "SELECT rating FROM events WHERE kiosk = ? ORDER BY seq", ["borne-tactile-1"])]
    assert ratings == [4] + [4 - n % 4 for n in range(12)]
    channels = {r[0] for r in db.execute("SELECT channel FROM events")}
    assert channels == {"touch"}
