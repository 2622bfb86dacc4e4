"""Starts the touch front-end inside a kiosk process: Kivy owns the main thread until stop.

Called by kiosk/runner.py when "touch" is in the config's frontends. The
runner's supervision loop (watchdog, outbox expiry) moves to a thread, since
Kivy must run on the main thread. Settings read from the environment:

- RESSENTI_TOUCH_PIN: the technician PIN, 4-8 digits (default 2580, logged as a warning);
- RESSENTI_TOUCH_SOUND=1: play the confirmation chime;
- RESSENTI_TOUCH_FULLSCREEN=1: full screen even with a desktop (it is on a console anyway).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.touch import env

if TYPE_CHECKING:
    from kiosk.core import Kiosk
    from kiosk.link import Link
    from kiosk.touch.controller import TouchOptions

log = logging.getLogger(__name__)


def options_from_environment() -> TouchOptions:
    from kiosk.touch.controller import TouchOptions
    from kiosk.touch.tech import DEFAULT_PIN, check_pin_format

    pin = os.environ.get("RESSENTI_TOUCH_PIN")
    if pin is None:
        log.warning("technician PIN is the default (%s): set RESSENTI_TOUCH_PIN", DEFAULT_PIN)
        pin = DEFAULT_PIN
    return TouchOptions(tech_pin=check_pin_format(pin),
                        sound=os.environ.get("RESSENTI_TOUCH_SOUND") == "1")


def run_touch(kiosk: Kiosk, link: Link | None, *, stop: threading.Event,
              background: Callable[[], None] | None = None,
              options: TouchOptions | None = None) -> None:
    """Run the touch screens until `stop` is set or the window is closed (then set `stop`)."""
    env.prepare()
    from kivy.app import App
    from kivy.clock import Clock

    from kiosk.touch.controller import TouchController

    options = options or options_from_environment()

    class TouchApp(App):
        title = "ressenti"

        def build(self) -> object:
            self.controller = TouchController(kiosk, link=link, options=options)
            Clock.schedule_interval(lambda _dt: self.stop() if stop.is_set() else None, 0.2)
            return self.controller.root

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
