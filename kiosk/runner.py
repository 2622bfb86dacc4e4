"""Runs one kiosk from its config: core, link, front-ends; tells systemd it is ready and alive."""

from __future__ import annotations

import logging
import signal
import threading

from kiosk.clock import ClockState
from kiosk.config import KioskConfig
from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox
from ressenti.systemd import sd_notify, watchdog_interval_s

log = logging.getLogger(__name__)


class KioskProcess:
    def __init__(self, config: KioskConfig, *, pin_factory=None) -> None:  # type: ignore[no-untyped-def]
        self.config = config
        self.outbox = Outbox(config.outbox_path, max_events=config.max_events,
                             max_age_days=config.max_age_days)
        self.kiosk = Kiosk(config.kiosk, config.site, self.outbox, settings=config.settings,
                           clock=ClockState(config.clock))
        self.link = Link(self.kiosk, config.broker, heartbeat_s=config.heartbeat_s,
                         ack_timeout_s=config.ack_timeout_s)
        self.box = None
        if "buttons" in config.frontends:
            from kiosk.buttons import ButtonBox
            if pin_factory is None and config.mock_pins:
                from gpiozero.pins.mock import MockFactory
                pin_factory = MockFactory()
            self.box = ButtonBox(self.kiosk, pin_factory=pin_factory, buzzer=config.buzzer,
                                 is_online=self.link.connected.is_set)

    def start(self) -> None:
        self.link.start()

    def stop(self) -> None:
        if self.box:
            self.box.close()
        self.link.stop()
        self.outbox.close()

    def run_forever(self) -> None:
        """Until SIGTERM/SIGINT; pets the systemd watchdog while the link loop is alive."""
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        self.start()
        sd_notify("READY=1")
        if "touch" in self.config.frontends:
            # Kivy must own the main thread, so supervision moves to a thread;
            # Kivy is imported only here, when the touch front-end is used.
            from kiosk.touch.run import run_touch
            run_touch(self.kiosk, self.link, stop=stop, background=lambda: self._supervise(stop))
        else:
            self._supervise(stop)
        sd_notify("STOPPING=1")
        self.stop()

    def _supervise(self, stop: threading.Event) -> None:
        interval = watchdog_interval_s() or 5.0
        expire_every, since_expire = 3600.0, 0.0
        while not stop.wait(interval):
            since_expire += interval
            if since_expire >= expire_every:
                since_expire = 0.0
                self.outbox.expire()
            sd_notify("WATCHDOG=1")
