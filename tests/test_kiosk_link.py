"""The kiosk link over a real Mosquitto: heartbeat, Last Will, dropped count, pushed config, state file."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from click.testing import CliRunner
from gpiozero.pins.mock import MockFactory

from cli import main
from collector.db import connect
from kiosk.buttons import ButtonBox
from kiosk.clock import ClockState
from kiosk.core import Fault, Kiosk
from kiosk.link import Link
from kiosk.linkstate import FILE_NAME, read_link_state
from kiosk.outbox import Outbox
from kiosk.status_light import StatusLight
from ressenti.mosquitto_runner import free_port
from ressenti.mqtt import BrokerAddress
from ressenti.protocol import Clock, Kind, KioskSettings, encode_settings, topic

pytestmark = pytest.mark.mosquitto

ROOT = Path(__file__).parent.parent
HEALTH_FIELDS = {"v", "state", "ts", "version", "config_rev", "clock", "uptime_s", "queue", "temp_c",
                 "disk_free_mb", "faults"}


class StatusWatcher:
    """Subscribes to one kiosk's status topic and keeps every message (body, retained?)."""

    def __init__(self, broker: BrokerAddress, kiosk: str, site: str = "mairie") -> None:
        self.messages: list[tuple[dict, bool]] = []
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_message = lambda c, u, m: self.messages.append((json.loads(m.payload), m.retain))
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect(broker.host, broker.port)
        self.client.subscribe(topic(site, kiosk, Kind.STATUS), qos=1)
        self.client.loop_start()
        assert self.subscribed.wait(10)

    def latest(self, **match) -> dict | None:
        for body, _ in reversed(self.messages):
            if all(body.get(k) == v for k, v in match.items()):
                return body
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def watchers():
    made: list[StatusWatcher] = []

    def watch(broker: BrokerAddress, kiosk: str) -> StatusWatcher:
        made.append(StatusWatcher(broker, kiosk))
        return made[-1]

    yield watch
    for w in made:
        w.close()


def publish_config(broker: BrokerAddress, kiosk: str, payload: bytes, site: str = "mairie") -> None:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.connect(broker.host, broker.port)
    client.loop_start()
    client.publish(topic(site, kiosk, Kind.CONFIG), payload, qos=1, retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def write_config(tmp_path: Path, kiosk: str, broker_url: str, data_dir: Path) -> Path:
    path = tmp_path / f"{kiosk}.toml"
    path.write_text(f'kiosk = "{kiosk}"\nsite = "mairie"\ndata_dir = "{data_dir}"\nclock = "ntp"\n'
                    f'mock_pins = true\nheartbeat_s = 5\n[broker]\nurl = "{broker_url}"\n')
    return path


def test_heartbeat_then_retained_last_will_when_the_kiosk_process_dies(tmp_path, mosquitto, watchers, wait):
    config = write_config(tmp_path, "borne-lw", mosquitto.url, tmp_path / "data")
    watcher = watchers(mosquitto.address, "borne-lw")
    log = (tmp_path / "kiosk.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "cli", "kiosk", "run", "--config", str(config)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait(lambda: watcher.latest(state="online"), timeout=20, what="an online heartbeat")
        online = watcher.latest(state="online")
        assert HEALTH_FIELDS <= set(online), online
        assert online["queue"] == {"pending": 0, "oldest_ts": None, "dropped": 0}
        assert (online["clock"], online["config_rev"], online["faults"]) == ("ntp", 0, [])
        assert isinstance(online["uptime_s"], int) and isinstance(online["disk_free_mb"], int)

        status = CliRunner().invoke(main, ["kiosk", "status", "--config", str(config)])
        assert status.exit_code == 0, status.output
        report = json.loads(status.output)
        assert report["pending"] == 0 and report["config_rev"] == 0
        wait(lambda: (read_link_state(tmp_path / "data" / FILE_NAME) or {}).get("state") == "connected",
             what="the link state file to say connected")

        os.kill(process.pid, signal.SIGKILL)  # no clean disconnect: only the broker can speak for it
        process.wait(10)
        wait(lambda: watcher.messages[-1][0] == {"v": 1, "state": "offline"}, what="the Last Will")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log.close()
    late = watchers(mosquitto.address, "borne-lw")
    wait(lambda: late.messages, what="the retained status for a late subscriber")
    assert late.messages[0] == ({"v": 1, "state": "offline"}, True), "the Last Will is retained"


def test_dropped_count_reaches_the_heartbeat_and_the_collector_moves_past_the_hole(
        tmp_path, mosquitto, collector_stack, watchers, wait):
    collector_stack.register("borne-full")
    outbox = Outbox(tmp_path / "full" / "outbox.db", max_events=5)
    kiosk = Kiosk("borne-full", "mairie", outbox, clock=ClockState(Clock.NTP))
    link = Link(kiosk, mosquitto.address, heartbeat_s=0.3, ack_timeout_s=1)
    watcher = watchers(mosquitto.address, "borne-full")
    try:
        for n in range(8):  # no collector yet: nothing is acked, the outbox overflows
            kiosk.press(1 + n % 4, "button")
        link.start()
        wait(lambda: watcher.latest(state="online"), what="a heartbeat")
        queue = watcher.latest(state="online")["queue"]
        assert (queue["pending"], queue["dropped"]) == (5, 3)
        assert queue["oldest_ts"] is not None

        collector_stack.start()
        wait(lambda: outbox.state().pending == 0, timeout=20, what="the outbox drained")
        db = connect(collector_stack.db_path)
        assert [r[0] for r in db.execute("SELECT seq FROM events ORDER BY seq")] == [4, 5, 6, 7, 8]
        wait(lambda: watcher.latest(state="online")["queue"]["pending"] == 0, what="a heartbeat with 0 pending")
        assert watcher.latest(state="online")["queue"]["dropped"] == 3, "the count stays visible"
    finally:
        link.stop()
        outbox.close()


def test_pushed_config_rev_is_applied_persisted_and_survives_a_restart_without_broker(
        tmp_path, mosquitto, kiosk_factory, watchers, wait, caplog, pinmap):
    caplog.set_level(logging.INFO, logger="kiosk.link")
    k = kiosk_factory("borne-cfg", mosquitto.address)
    watcher = watchers(mosquitto.address, "borne-cfg")
    wait(k.link.connected.is_set, what="connected")
    assert len(k.box.buttons) == 4

    publish_config(mosquitto.address, "borne-cfg", encode_settings(KioskSettings(rev=3, scale=5)))
    wait(lambda: len(k.box.buttons) == 5, what="the box to grow to 5 buttons")
    wait(lambda: watcher.latest(state="online", config_rev=3), what="status with config_rev 3")
    k.press(5)
    assert k.kiosk.outbox.batch()[-1]["scale"] == 5 and k.led_on(5)

    publish_config(mosquitto.address, "borne-cfg", encode_settings(KioskSettings(rev=2, scale=3)))
    wait(lambda: "pushed config rev 2 is older than mine (3); ignored" in caplog.text, what="rev 2 ignored")
    assert k.kiosk.settings.rev == 3 and len(k.box.buttons) == 5

    publish_config(mosquitto.address, "borne-cfg", b'{"v": 1, "rev": 9, "scale": 7}')
    wait(lambda: Fault.CONFIG in k.kiosk.faults, what="the config fault")
    assert "config scale 7 must be 3, 4 or 5" in caplog.text
    assert k.box.status.mode is StatusLight.FAST
    status_pin = k.pins.pin(pinmap.status_led.bcm)
    status_pin.clear_states()
    wait(lambda: len(status_pin.states) >= 5, timeout=2, what="the status LED blinking fast")
    assert all(s.timestamp < 0.2 for s in status_pin.states[2:])
    wait(lambda: (watcher.latest(state="online") or {}).get("faults"), what="the fault in the status")
    [fault] = watcher.latest(state="online")["faults"]
    assert fault["kind"] == "config" and "keeping rev 3" in fault["message"]
    assert k.kiosk.settings.rev == 3 and len(k.box.buttons) == 5, "the bad config changed nothing"

    publish_config(mosquitto.address, "borne-cfg", encode_settings(KioskSettings(rev=10, scale=5)))
    wait(lambda: k.kiosk.settings.rev == 10, what="a good config again")
    assert Fault.CONFIG not in k.kiosk.faults
    wait(lambda: k.box.status.mode is not StatusLight.FAST, what="the fault cleared on the LED")

    # Restart on the same outbox with the broker gone: the pushed config is still in force.
    k.box.close()
    k.link.stop()
    k.kiosk.outbox.close()
    mosquitto.stop()
    outbox = Outbox(k.kiosk.outbox.path)
    again = Kiosk("borne-cfg", "mairie", outbox, settings=KioskSettings(scale=4), clock=ClockState(Clock.NTP))
    pins = MockFactory()
    box = ButtonBox(again, pin_factory=pins, bounce_time=None)
    link = Link(again, BrokerAddress("127.0.0.1", free_port()))
    link.start()
    try:
        assert (again.settings.rev, again.settings.scale, len(box.buttons)) == (10, 5, 5)
    finally:
        box.close()
        link.stop()
        outbox.close()
        pins.reset()


def test_link_state_file_follows_connect_ack_and_stop(tmp_path, mosquitto, collector_stack, kiosk_factory, wait):
    collector_stack.register("borne-st")
    collector_stack.start()
    k = kiosk_factory("borne-st", mosquitto.address)
    path = k.kiosk.outbox.path.parent / FILE_NAME
    wait(lambda: (read_link_state(path) or {}).get("state") == "connected", what="connected in the file")
    k.press(2)
    wait(lambda: (read_link_state(path) or {}).get("last_ack_through") == 1, what="the ack in the file")
    state = read_link_state(path)
    assert state["broker"] == mosquitto.url and 0 <= state["last_ack_age_s"] < 5
    assert state["pid"] == os.getpid()

    config = write_config(tmp_path, "borne-st", mosquitto.url, path.parent)
    report = json.loads(CliRunner().invoke(main, ["kiosk", "status", "--config", str(config)]).output)
    assert report["link"]["state"] == "connected" and report["link"]["last_ack_through"] == 1
    assert "stale" not in report["link"]
    assert report["pending"] == 0 and report["last_seq"] == 1

    k.link.stop()
    assert read_link_state(path)["state"] == "stopped"
