"""Starts the touch front-end inside a kiosk process: Kivy owns the main thread until stop.

Called by kiosk/runner.py when "touch" is in the config's frontends. The
runner's supervision loop (watchdog, outbox expiry) moves to a thread, since
Kivy must run on the main thread. Its settings are the `[touch]` table of
kiosk.toml (kiosk/touch/options.py); for development, the environment overrides:

- RESSENTI_TOUCH_PIN: the technician PIN, 4-8 digits, instead of the PIN file;
- RESSENTI_TOUCH_SOUND=1: play the confirmation chime;
- RESSENTI_TOUCH_FULLSCREEN=1: full screen even with a desktop (with fullscreen = "auto").
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from kiosk.touch import env
from kiosk.touch.options import TouchOptions, technician_pin

if TYPE_CHECKING:
    from kiosk.core import Kiosk
    from kiosk.link import Link

log = logging.getLogger(__name__)


def ready_options(options: TouchOptions) -> TouchOptions:
    """`options` with the technician PIN read (unless given) and the environment's overrides."""
    pin = options.tech_pin or technician_pin(options.pin_file)
    return replace(options, tech_pin=pin,
                   sound=options.sound or os.environ.get("RESSENTI_TOUCH_SOUND") == "1")


def run_touch(kiosk: Kiosk, link: Link | None, *, stop: threading.Event,
              background: Callable[[], None] | None = None,
              options: TouchOptions | None = None,
              on_tick: Callable[[], None] = lambda: None) -> None:
    """Run the touch screens until `stop` is set or the window is closed (then set `stop`).

    `on_tick` is called on the UI thread 5 times a second while Kivy's loop turns
    (the runner's watchdog stops pinging systemd when it stops).
    """
    options = ready_options(options or TouchOptions())
    env.prepare(fullscreen=options.fullscreen_flag)
    from kivy.app import App
    from kivy.clock import Clock

    from kiosk.touch.controller import TouchController

    class TouchApp(App):
        title = "ressenti"

        def build(self) -> object:
            self.controller = TouchController(kiosk, link=link, options=options)
            Clock.schedule_interval(self._tick, 0.2)
            return self.controller.root

        def _tick(self, _dt: float) -> None:
            on_tick()
            if stop.is_set():
                self.stop()

        def on_start(self) -> None:
            from kivy.core.window import Window

            log.info("touch screen ready: %dx%d, %d faces, languages %s", *Window.size,
                     kiosk.settings.scale, ",".join(self.controller.languages))

        def on_stop(self) -> None:
            stop.set()
            self.controller.close()  # waits for the commits already started

    worker = None
    if background is not None:
        worker = threading.Thread(target=background, name="kiosk-supervisor", daemon=True)
        worker.start()
    try:
        TouchApp().run()
    finally:
        stop.set()
        if worker is not None:
            worker.join(10)
