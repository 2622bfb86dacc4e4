"""Button box front-end: arcade buttons with LEDs on GPIO through gpiozero.

A press is committed by the core before its LED lights. The status LED is
steady when online with nothing pending, blinks slowly when offline or
pending, and fast on a fault (the outbox could not commit).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from enum import StrEnum

from gpiozero import LED, Button, Buzzer
from gpiozero.pins import Factory

from kiosk.core import Kiosk
from kiosk.outbox import OutboxError
from kiosk.pinmap import PinMap, load_pinmap, rating_for_position
from ressenti.protocol import Input

log = logging.getLogger(__name__)

CONFIRM_S = 1.5


class StatusLight(StrEnum):
    STEADY = "steady"  # online, nothing pending
    SLOW = "slow"  # offline or events pending
    FAST = "fast"  # fault


class ButtonBox:
    def __init__(self, kiosk: Kiosk, *, pin_factory: Factory | None = None,
                 pinmap: PinMap | None = None, buzzer: bool = False,
                 bounce_time: float | None | type[...] = ...,
                 is_online: Callable[[], bool] = lambda: False) -> None:
        self.kiosk = kiosk
        self.pinmap = pinmap or load_pinmap()
        self.pin_factory = pin_factory
        self.is_online = is_online
        self._bounce = self.pinmap.bounce_time_s if bounce_time is ... else bounce_time
        self.fault: str | None = None
        self._status_mode: StatusLight | None = None
        self.status_led = LED(self.pinmap.status_led.bcm, pin_factory=pin_factory)
        self.buzzer = Buzzer(self.pinmap.buzzer.bcm, pin_factory=pin_factory) if buzzer else None
        self.buttons: list[Button] = []
        self.leds: list[LED] = []
        self._build(kiosk.settings.scale)
        kiosk.on_settings(lambda settings: self._build(settings.scale))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._status_loop, name="status-led", daemon=True)
        self._thread.start()

    def _build(self, scale: int) -> None:
        """(Re)create one Button and one LED per slot of the scale."""
        for device in self.buttons + self.leds:
            device.close()
        self.buttons, self.leds = [], []
        for slot in self.pinmap.slots_for_scale(scale):
            button = Button(slot.button.bcm, pull_up=True, bounce_time=self._bounce,
                            pin_factory=self.pin_factory)
            led = LED(slot.led.bcm, pin_factory=self.pin_factory)
            rating = rating_for_position(slot.position, scale)
            button.when_pressed = self._make_handler(rating, led)
            self.buttons.append(button)
            self.leds.append(led)

    def _make_handler(self, rating: int, led: LED) -> Callable[[], None]:
        def pressed() -> None:
            try:
                self.kiosk.press(rating, Input.BUTTON)
            except OutboxError as exc:
                self.fault = str(exc)
                log.error("press not recorded: %s", exc)
                self.refresh_status()
                return
            # Committed: now, and only now, confirm.
            self.fault = None
            led.blink(on_time=CONFIRM_S, off_time=0, n=1, background=True)
            if self.buzzer:
                self.buzzer.beep(on_time=0.08, off_time=0, n=1, background=True)
        return pressed

    def status_light(self) -> StatusLight:
        if self.fault:
            return StatusLight.FAST
        if self.is_online() and self.kiosk.outbox.state().pending == 0:
            return StatusLight.STEADY
        return StatusLight.SLOW

    def refresh_status(self) -> None:
        mode = self.status_light()
        if mode == self._status_mode:
            return
        self._status_mode = mode
        if mode is StatusLight.STEADY:
            self.status_led.on()
        elif mode is StatusLight.SLOW:
            self.status_led.blink(on_time=1.0, off_time=1.0)
        else:
            self.status_led.blink(on_time=0.1, off_time=0.1)

    def _status_loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.refresh_status()
            except Exception:
                log.exception("status LED refresh failed")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for device in [*self.buttons, *self.leds, self.status_led, *([self.buzzer] if self.buzzer else [])]:
            device.close()
