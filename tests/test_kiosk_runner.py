"""The kiosk process under systemd: READY and WATCHDOG on a fake NOTIFY_SOCKET, no crash loop on faults."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.runner import KioskProcess
from kiosk.startup import run_kiosk
from kiosk.status_light import PATTERNS, StatusLight
from ressenti.mosquitto_runner import free_port

ROOT = Path(__file__).parent.parent


class NotifySocket:
    """A unix datagram socket standing in for systemd; keeps (monotonic time, message) pairs."""

    def __init__(self) -> None:
        self.address = f"@ressenti-test-{uuid.uuid4().hex[:12]}"  # abstract: no path length limit
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + self.address[1:])
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.messages.append((time.monotonic(), self.sock.recv(4096).decode()))
            except TimeoutError:
                continue

    def received(self, text: str) -> list[float]:
        return [t for t, message in self.messages if message.startswith(text)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def systemd(monkeypatch):
    notify = NotifySocket()
    monkeypatch.setenv("NOTIFY_SOCKET", notify.address)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # WatchdogSec=0.2 s: a ping every 0.1 s
    yield notify
    notify.close()


def write_config(tmp_path: Path, body: str = "") -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'kiosk = "borne-sd"\nsite = "mairie"\ndata_dir = "{tmp_path / "data"}"\n'
                    f'clock = "ntp"\nmock_pins = true\n{body}'
                    f'[broker]\nurl = "mqtt://127.0.0.1:{free_port()}"\n')
    return path


def in_thread(target, *args, **kwargs) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def test_ready_then_watchdog_pings_that_stop_while_the_link_loop_is_stuck(tmp_path, systemd, wait):
    process = KioskProcess(load_config(write_config(tmp_path)))
    process.link_stall_s = 0.5
    stop = threading.Event()
    runner = in_thread(process.run_forever, stop)
    try:
        wait(lambda: systemd.received("READY=1"), what="READY=1")
        wait(lambda: len(systemd.received("WATCHDOG=1")) >= 3, what="watchdog pings")

        stuck, release = threading.Event(), threading.Event()
        healthy_tick = process.link._tick

        def stuck_tick() -> None:
            stuck.set()
            release.wait(30)
        process.link._tick = stuck_tick
        assert stuck.wait(5)
        stuck_at = time.monotonic()
        wait(lambda: time.monotonic() - max(systemd.received("WATCHDOG=1")) > 1.0, timeout=5,
             what="the pings to stop")
        last_ping = max(systemd.received("WATCHDOG=1"))
        assert last_ping - stuck_at < 0.5 + 0.3, "pings stop once the loop is silent for link_stall_s"

        process.link._tick = healthy_tick
        release.set()
        wait(lambda: max(systemd.received("WATCHDOG=1")) > last_ping, what="pings again once unstuck")
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
    assert systemd.received("STOPPING=1")


def test_invalid_config_at_start_shows_the_fault_and_starts_once_fixed(tmp_path, systemd, wait, mock_factory,
                                                                     pinmap, caplog):
    config = write_config(tmp_path, "heartbeat_s = 1\n")  # below the 5 s minimum
    stop = threading.Event()
    runner = in_thread(run_kiosk, config, pin_factory=mock_factory, stop=stop, retry_s=0.3)
    status_pin = mock_factory.pin(pinmap.status_led.bcm)
    try:
        wait(lambda: systemd.received("STATUS=fault:"), what="the fault told to systemd")
        assert systemd.received("READY=1"), "READY so systemd does not kill it as a failed start"
        [(_, status)] = [m for m in systemd.messages if m[1].startswith("STATUS=fault")]
        assert "heartbeat_s = 1 must be between 5 and 3600" in status
        assert caplog.text.count("kiosk cannot start") == 1, "one log line, not one per retry"
        wait(lambda: len(systemd.received("WATCHDOG=1")) >= 2, what="the watchdog fed while in fault")
        wait(lambda: len(status_pin.states) >= 6, timeout=3, what="the status LED blinking")
        fast = PATTERNS[StatusLight.FAST]
        assert all(abs(seconds - fast[0][1]) < 0.06 for seconds in
                   [s.timestamp for s in status_pin.states[2:6]]), status_pin.states

        config.write_text(config.read_text().replace("heartbeat_s = 1\n", ""))
        wait(lambda: systemd.received("STATUS=running"), timeout=5, what="the kiosk to start")
        assert runner.is_alive()
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()


def test_an_outbox_that_cannot_be_opened_is_a_fault_not_a_crash(tmp_path, systemd, wait, mock_factory):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    stop = threading.Event()
    runner = in_thread(run_kiosk, write_config(tmp_path), pin_factory=mock_factory, stop=stop, retry_s=0.3)
    try:
        wait(lambda: systemd.received("STATUS=fault:"), what="the fault")
        assert any("cannot open the outbox" in m for _, m in systemd.messages)
        blocker.unlink()  # the technician frees the path (or the disk)
        wait(lambda: systemd.received("STATUS=running"), timeout=5, what="the kiosk to start")
    finally:
        stop.set()
        runner.join(10)


def test_a_corrupt_outbox_is_moved_aside_and_the_kiosk_runs(tmp_path, systemd, wait):
    data = tmp_path / "data"
    data.mkdir()
    (data / "outbox.db").write_bytes(b"SQLite format 3\x00" + b"\x13" * 4096)
    stop = threading.Event()
    runner = in_thread(run_kiosk, write_config(tmp_path), stop=stop)
    try:
        wait(lambda: systemd.received("READY=1"), what="READY")
        assert not systemd.received("STATUS=fault"), "corruption is handled, not a fault"
        assert list(data.glob("outbox.db.corrupt-*"))
    finally:
        stop.set()
        runner.join(10)


def test_kiosk_run_with_a_bad_config_stays_up_for_systemd(tmp_path, systemd, wait):
    """The real command: a broken file keeps the process alive (no restart loop), SIGTERM ends it."""
    config = write_config(tmp_path, "frontends = [\"screen\"]\n")
    log = tmp_path / "kiosk.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "cli", "kiosk", "run", "--config", str(config)],
                                   cwd=ROOT, env=os.environ.copy(), stdout=output, stderr=subprocess.STDOUT)
        try:
            wait(lambda: systemd.received("STATUS=fault:") or process.poll() is not None, timeout=20,
                 what="the fault")
            assert process.poll() is None, log.read_text()
            wait(lambda: systemd.received("WATCHDOG=1"), what="the watchdog fed")
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text()
    assert "kiosk cannot start" in text and "frontends = ['screen'] must be" in text
    assert "Traceback" not in text


TOUCH_UI_FREEZE = '''
import logging, sys, threading, time
logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(message)s")
from kiosk.config import load_config
from kiosk.runner import KioskProcess

process = KioskProcess(load_config(sys.argv[1]))
process.ui_stall_s = 1.0
stop, pause = threading.Event(), threading.Event()

def freeze_the_ui():
    while process.ui_alive_at is None:
        pause.wait(0.05)
    started = process.ui_alive_at
    while process.ui_alive_at == started:  # Kivy's loop turns
        pause.wait(0.05)
    pause.wait(1.0)  # pings with both loops alive
    from kivy.clock import Clock

    def freeze(_dt):
        print(f"FROZEN {time.monotonic()}", flush=True)
        time.sleep(3)  # the UI thread is stuck; the link loop goes on
        print(f"THAWED {time.monotonic()}", flush=True)
    Clock.schedule_once(freeze, 0)
    pause.wait(6)
    stop.set()

threading.Thread(target=freeze_the_ui, daemon=True).start()
process.run_forever(stop)
'''


def test_touch_kiosk_watchdog_pings_stop_while_the_ui_loop_is_frozen(tmp_path, systemd):
    """Not only the link: a frozen Kivy loop (a screen that no longer answers) stops the pings."""
    if not os.environ.get("DISPLAY"):
        pytest.fail("no DISPLAY: run the touch tests under Xvfb, as ./dev test does")
    from kiosk.touch import testing

    config = write_config(tmp_path, 'frontends = ["touch"]\n')
    environment = {**os.environ, **testing.TEST_ENVIRONMENT, "RESSENTI_TOUCH_PIN": "97531"}
    done = subprocess.run([sys.executable, "-c", TOUCH_UI_FREEZE, str(config)], cwd=ROOT,
                          env=environment, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    frozen = float(done.stdout.split("FROZEN ")[1].split()[0])
    thawed = float(done.stdout.split("THAWED ")[1].split()[0])
    pings = systemd.received("WATCHDOG=1")
    assert [p for p in pings if p < frozen], "pings while both loops turn"
    during = [p for p in pings if frozen < p < thawed]
    assert during and max(during) < frozen + 1.0 + 0.3, "pings stop once the UI is silent for ui_stall_s"
    assert [p for p in pings if p > thawed], "pings again once the UI loop turns"
    assert "touch screen's UI loop silent for over 1 s: no watchdog ping" in done.stdout
    assert "link loop silent" not in done.stdout, "the link loop kept turning"


def test_kiosk_run_off_a_pi_without_mock_pins_says_what_to_do_in_one_line(tmp_path, systemd, wait):
    """Off a Pi, `mock_pins = false` is a fault with the fix, not gpiozero's warnings and traceback."""
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("mock_pins = true", "mock_pins = false"))
    log = tmp_path / "kiosk.log"
    environment = {k: v for k, v in os.environ.items() if k != "GPIOZERO_PIN_FACTORY"}
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "cli", "kiosk", "run", "--config", str(config)],
                                   cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait(lambda: systemd.received("STATUS=fault:") or process.poll() is not None, timeout=20,
                 what="the fault")
            assert process.poll() is None, log.read_text()
            process.send_signal(signal.SIGTERM)
            assert process.wait(10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text()
    assert "Traceback" not in text and "PinFactoryFallback" not in text, text
    [line] = [line for line in text.splitlines() if "kiosk cannot start" in line]
    assert "no GPIO on this machine" in line and "install lgpio" in line
    assert f"set mock_pins = true in {config}" in line
    assert not (tmp_path / "data" / "outbox.db").exists(), "nothing opened before the pins are known"
