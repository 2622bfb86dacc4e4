"""Runs one kiosk from its config: core, link, front-ends; tells systemd it is ready and alive."""

from __future__ import annotations

import logging
import signal
import threading

from kiosk.clock import ClockState
from kiosk.config import KioskConfig
from kiosk.core import Kiosk
from kiosk.link import Link
from kiosk.outbox import Outbox, OutboxError
from ressenti.systemd import sd_notify, watchdog_interval_s

log = logging.getLogger(__name__)


class KioskProcess:
    # The link loop ticks every 0.5 s; silent this long, it is stuck (an SD
    # card's slowest fsync is seconds, not tens of seconds).
    link_stall_s = 20.0

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

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Until `stop` is set (default: on SIGTERM/SIGINT); pets the watchdog while the link lives."""
        if stop is None:
            stop = threading.Event()
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        self.start()
        sd_notify("READY=1")
        if "touch" in self.config.frontends:
            # Kivy must own the main thread, so supervision moves to a thread;
            # Kivy is imported only here, when the touch front-end is used.
            from kiosk.touch.run import run_touch
            run_touch(self.kiosk, self.link, stop=stop, background=lambda: self._supervise(stop),
                      options=self.config.touch)
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
                try:
                    self.outbox.expire()
                except OutboxError as exc:
                    log.error("%s", exc)
            # No ping while the link's sending loop is dead or stuck in a tick:
            # systemd then kills and restarts the kiosk (WatchdogSec=).
            if self.link.is_alive(self.link_stall_s):
                sd_notify("WATCHDOG=1")
            else:
                log.error("link loop silent for over %.0f s: no watchdog ping", self.link_stall_s)
