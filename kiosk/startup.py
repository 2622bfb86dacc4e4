"""`ressenti kiosk run`: start the kiosk, or show why it cannot and retry, never crash-loop.

An invalid config file, or an outbox that cannot be opened (disk full,
read-only card, missing folder), would make a plain process exit, systemd
restart it every few seconds, and the box look dead. Instead the process
stays up: one clear log line, `systemctl status` says why (STATUS=), the
status LED blinks fast, the watchdog is fed, and the start is retried every
`retry_s` seconds, so fixing the file or freeing the disk is all it takes.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config import load_config
from kiosk.outbox import Outbox, OutboxError
from kiosk.pinmap import load_pinmap
from kiosk.runner import KioskProcess
from ressenti.errors import BadConfig, NoGpio
from ressenti.systemd import sd_notify, watchdog_interval_s

if TYPE_CHECKING:
    from gpiozero.pins import Factory

    from kiosk.status_light import StatusLed

log = logging.getLogger(__name__)

RETRY_S = 10.0


class FaultDisplay:
    """The status LED blinking fast while the kiosk cannot start."""

    def __init__(self, pin_factory: Factory | None) -> None:
        # gpiozero only here: a touch-only kiosk never loads it (about 2.5 MB, issue 4).
        from gpiozero import LED

        from kiosk.status_light import StatusLed, StatusLight

        self.status: StatusLed | None = None
        try:
            self.status = StatusLed(LED(load_pinmap().status_led.bcm, pin_factory=pin_factory))
            self.status.show(StatusLight.FAST)
        except Exception as exc:  # no GPIO here: the log and systemd still say why
            log.warning("cannot show the fault on the status LED: %s", exc)

    def close(self) -> None:
        if self.status:
            self.status.close()


def _wants_mock_pins(config_path: Path) -> bool:
    """Read `mock_pins` from a config that may be invalid (to know where the status LED is)."""
    try:
        return tomllib.loads(config_path.read_text()).get("mock_pins") is True
    except (OSError, ValueError):
        return False


def _signal_stop() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def run_kiosk(config_path: str | Path, *, pin_factory: Factory | None = None,
              stop: threading.Event | None = None, retry_s: float = RETRY_S) -> None:
    """Run until `stop` (default: SIGTERM/SIGINT); wait in fault mode while the kiosk cannot start."""
    config_path = Path(config_path)
    stop = stop or _signal_stop()
    display: FaultDisplay | None = None
    last_message = None
    try:
        while not stop.is_set():
            try:
                config = load_config(config_path)
                if display:  # in fault: check the outbox opens before freeing the status LED
                    Outbox(config.outbox_path, max_events=config.max_events).close()
                    display.close()
                    display = None
                process = KioskProcess(config, pin_factory=pin_factory, config_path=config_path)
            except (BadConfig, OutboxError) as exc:
                message = str(exc)
                if message != last_message:
                    log.error("kiosk cannot start: %s (retrying every %g s)", message, retry_s)
                    sd_notify("READY=1")
                    sd_notify(f"STATUS=fault: {message}")
                    last_message = message
                if not isinstance(exc, NoGpio):  # without GPIO there is no LED to blink
                    display = display or FaultDisplay(_fault_pin_factory(config_path, pin_factory))
                _wait_fed(stop, retry_s)
                continue
            if last_message:
                log.info("kiosk starting: the fault is gone")
                sd_notify("STATUS=running")
            process.run_forever(stop)
            return
    finally:
        if display:
            display.close()


def _fault_pin_factory(config_path: Path, pin_factory: Factory | None) -> Factory | None:
    if pin_factory is None and _wants_mock_pins(config_path):
        from gpiozero.pins.mock import MockFactory
        return MockFactory()
    return pin_factory


def _wait_fed(stop: threading.Event, seconds: float) -> None:
    """Wait `seconds` (or until stop) feeding the watchdog: restarting cannot fix a file or a disk."""
    interval = min(watchdog_interval_s() or seconds, seconds)
    deadline = time.monotonic() + seconds
    while not stop.wait(min(interval, max(0.0, deadline - time.monotonic()))):
        sd_notify("WATCHDOG=1")
        if time.monotonic() >= deadline:
            return
