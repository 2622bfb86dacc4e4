"""Runs one kiosk from its config: core, link, front-ends; tells systemd it is ready and alive."""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

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
    # The touch screen's UI loop stamps `ui_alive_at` 5 times a second; silent
    # this long, it is frozen (the screen no longer answers taps).
    ui_stall_s = 20.0

    def __init__(self, config: KioskConfig, *, pin_factory=None,  # type: ignore[no-untyped-def]
                 config_path: str | Path = "the kiosk config") -> None:
        self.config = config
        if "buttons" in config.frontends and pin_factory is None:
            # Before the outbox opens: no GPIO here is a fault with one clear line (kiosk/gpio.py).
            from kiosk.gpio import pin_factory_for
            pin_factory = pin_factory_for(config.mock_pins, config_path)
        self.outbox = Outbox(config.outbox_path, max_events=config.max_events,
                             max_age_days=config.max_age_days)
        self.kiosk = Kiosk(config.kiosk, config.site, self.outbox, settings=config.settings,
                           clock=ClockState(config.clock))
        self.link = Link(self.kiosk, config.broker, heartbeat_s=config.heartbeat_s,
                         ack_timeout_s=config.ack_timeout_s)
        self.box = None
        self.ui_alive_at: float | None = None  # monotonic; None: no UI loop to watch
        if "buttons" in config.frontends:
            from kiosk.buttons import ButtonBox
            self.box = ButtonBox(self.kiosk, pin_factory=pin_factory, buzzer=config.buzzer,
                                 is_online=self.link.connected.is_set)
        self.press_socket = self._open_press_socket()

    def _open_press_socket(self):  # type: ignore[no-untyped-def]
        """`ressenti kiosk press` talks to this (button kiosks); a kiosk runs on without it."""
        if self.box is None:
            return None
        from kiosk.press_socket import PressSocket, socket_path
        try:
            return PressSocket(socket_path(self.config.data_dir), self.box.simulate_press)
        except OSError as exc:
            log.warning("no press socket at %s (%s): `ressenti kiosk press` will not reach this kiosk",
                        socket_path(self.config.data_dir), exc)
            return None

    def start(self) -> None:
        self.link.start()
        if self.press_socket:
            self.press_socket.start()

    def stop(self) -> None:
        if self.press_socket:
            self.press_socket.close()
        if self.box:
            self.box.close()
        self.link.stop()
        self.outbox.close()

    def run_forever(self, stop: threading.Event | None = None) -> None:
        """Until `stop` is set (default: on SIGTERM/SIGINT); pets the watchdog while the loops turn."""
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
            self.ui_tick()  # the window takes a few seconds to open
            run_touch(self.kiosk, self.link, stop=stop, background=lambda: self._supervise(stop),
                      options=self.config.touch, on_tick=self.ui_tick)
        else:
            self._supervise(stop)
        sd_notify("STOPPING=1")
        self.stop()

    def ui_tick(self) -> None:
        """Called on the UI thread by the touch front-end's clock: its loop is turning."""
        self.ui_alive_at = time.monotonic()

    def stalled(self) -> str | None:
        """Which loop has been silent too long (then: no watchdog ping), or None."""
        if not self.link.is_alive(self.link_stall_s):
            return f"link loop silent for over {self.link_stall_s:.0f} s"
        if self.ui_alive_at is not None and time.monotonic() - self.ui_alive_at >= self.ui_stall_s:
            return f"touch screen's UI loop silent for over {self.ui_stall_s:.0f} s"
        return None

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
            # No ping while the link's sending loop or the touch screen's UI loop
            # is dead or stuck: systemd then kills and restarts the kiosk (WatchdogSec=).
            stalled = self.stalled()
            if stalled is None:
                sd_notify("WATCHDOG=1")
            else:
                log.error("%s: no watchdog ping", stalled)
