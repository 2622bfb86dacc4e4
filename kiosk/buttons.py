"""Button box front-end: arcade buttons with LEDs on GPIO through gpiozero.

A press is committed by the core before its LED lights. The status LED
(kiosk/status_light.py) is steady when online with nothing pending, blinks
slowly when offline or pending, fast on a fault (the outbox could not commit,
a pushed config was invalid), and double-blinks in self-test mode.

Holding the two outer buttons for 5 s enters self-test mode
(kiosk/testmode.py): presses light and beep but are not recorded. A press made
while another button is still held down is a chord, not a rating: it is not
recorded and its LED stays dark (it is how the self-test gesture starts).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

from gpiozero import LED, Button, Buzzer
from gpiozero.pins import Factory

from kiosk.core import Kiosk
from kiosk.outbox import OutboxError
from kiosk.pinmap import PinMap, load_pinmap, rating_for_position
from kiosk.status_light import StatusLed, StatusLight
from kiosk.testmode import HOLD_S, INACTIVITY_S, SelfTestMode
from ressenti.protocol import Input

log = logging.getLogger(__name__)

CONFIRM_S = 1.5


@dataclass(frozen=True)
class Press:
    """What a button press did: the committed event, or why nothing was recorded."""

    rating: int
    event: dict[str, Any] | None
    not_recorded: str | None

__all__ = ["ButtonBox", "Press", "StatusLight", "CONFIRM_S"]


class ButtonBox:
    def __init__(self, kiosk: Kiosk, *, pin_factory: Factory | None = None,
                 pinmap: PinMap | None = None, buzzer: bool = False,
                 bounce_time: float | None | EllipsisType = ...,
                 is_online: Callable[[], bool] = lambda: False,
                 hold_s: float = HOLD_S, selftest_inactivity_s: float = INACTIVITY_S) -> None:
        self.kiosk = kiosk
        self.pinmap = pinmap or load_pinmap()
        self.pin_factory = pin_factory
        self.is_online = is_online
        self.hold_s = hold_s
        self._bounce = self.pinmap.bounce_time_s if bounce_time is ... else bounce_time
        self._lock = threading.RLock()
        self.status = StatusLed(LED(self.pinmap.status_led.bcm, pin_factory=pin_factory))
        self.status_led = self.status.led
        self.buzzer = Buzzer(self.pinmap.buzzer.bcm, pin_factory=pin_factory) if buzzer else None
        self.selftest = SelfTestMode(inactivity_s=selftest_inactivity_s,
                                     on_change=lambda _active: self.refresh_status())
        self._gesture_latched = False
        self.buttons: list[Button] = []
        self.leds: list[LED] = []
        self._handlers: dict[int, Callable[[], Press]] = {}  # rating -> what its button's press runs
        self._build(kiosk.settings.scale)
        kiosk.on_settings(lambda settings: self._build(settings.scale))
        kiosk.on_fault(self.refresh_status)
        self._stop = threading.Event()
        self.refresh_status()
        self._thread = threading.Thread(target=self._status_loop, name="status-refresh", daemon=True)
        self._thread.start()

    def _build(self, scale: int) -> None:
        """(Re)create one Button and one LED per slot of the scale."""
        with self._lock:
            old, self.buttons, self.leds, self._handlers = [*self.buttons, *self.leds], [], [], {}
        # Closed outside the lock: closing a Button joins its hold thread,
        # which may be waiting for the lock in _outer_held.
        for device in old:
            device.close()
        with self._lock:
            for slot in self.pinmap.slots_for_scale(scale):
                button = Button(slot.button.bcm, pull_up=True, bounce_time=self._bounce,
                                hold_time=self.hold_s, pin_factory=self.pin_factory)
                led = LED(slot.led.bcm, pin_factory=self.pin_factory)
                rating = rating_for_position(slot.position, scale)
                button.when_pressed = self._handlers[rating] = self._make_handler(rating, button, led)
                self.buttons.append(button)
                self.leds.append(led)
            for outer in (self.buttons[0], self.buttons[-1]):
                outer.when_held = self._outer_held
                outer.when_released = self._outer_released

    # -- a press ------------------------------------------------------------------

    def _make_handler(self, rating: int, button: Button, led: LED) -> Callable[[], Press]:
        def pressed() -> Press:
            if any(other.is_pressed for other in self.buttons if other is not button):
                log.info("press of rating %d while another button is held: not a rating", rating)
                return Press(rating, None, "another button is held: a chord, not a rating")
            if self.selftest.active:
                self.selftest.pressed()
                self._confirm(led)
                return Press(rating, None, "self-test mode: lit, not recorded")
            try:
                event = self.kiosk.press(rating, Input.BUTTON)
            except OutboxError as exc:
                log.error("press not recorded: %s", exc)
                return Press(rating, None, f"not recorded: {exc}")  # the status LED shows the fault
            self._confirm(led)  # committed: now, and only now, confirm
            return Press(rating, event, None)
        return pressed

    def simulate_press(self, rating: int) -> Press:
        """What a hand on the button of `rating` does (`ressenti kiosk press`, kiosk/press_socket.py).

        It runs the very function gpiozero calls on the button's falling
        edge: chord check, self-test mode, filter, outbox, LED.
        """
        with self._lock:
            handler = self._handlers.get(rating)
            scale = len(self.buttons)
        if handler is None:
            raise ValueError(f"rating {rating} is not a button of this kiosk (ratings 1 to {scale})")
        return handler()

    def _confirm(self, led: LED) -> None:
        # on() first, so the LED is lit before the handler returns; the
        # one-shot blink then only turns it off after CONFIRM_S.
        led.on()
        led.blink(on_time=CONFIRM_S, off_time=0, n=1, background=True)
        if self.buzzer:
            self.buzzer.beep(on_time=0.08, off_time=0, n=1, background=True)

    # -- the self-test gesture ---------------------------------------------------

    def _outer_held(self) -> None:
        """Both outer buttons held `hold_s`: toggle self-test, once per gesture."""
        with self._lock:
            if not self.buttons:
                return
            first, last = self.buttons[0], self.buttons[-1]
            if self._gesture_latched or not (first.is_held and last.is_held):
                return
            self._gesture_latched = True
        self.selftest.toggle()

    def _outer_released(self) -> None:
        with self._lock:
            if not self.buttons or not (self.buttons[0].is_pressed or self.buttons[-1].is_pressed):
                self._gesture_latched = False

    # -- the status LED -----------------------------------------------------------

    @property
    def fault(self) -> str | None:
        """The first current fault's message, or None."""
        faults = self.kiosk.faults
        return next(iter(faults.values())) if faults else None

    def status_light(self) -> StatusLight:
        if self.selftest.active:
            return StatusLight.SELFTEST
        if self.kiosk.faults:
            return StatusLight.FAST
        if self.is_online() and self.kiosk.outbox.pending == 0:
            return StatusLight.STEADY
        return StatusLight.SLOW

    def refresh_status(self) -> None:
        self.status.show(self.status_light())

    def _status_loop(self) -> None:
        while not self._stop.wait(0.5):
            try:
                self.refresh_status()
            except Exception:
                log.exception("status LED refresh failed")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.selftest.close()
        self.status.close()
        with self._lock:
            devices, self.buttons, self.leds = [*self.buttons, *self.leds], [], []
        for device in [*devices, *([self.buzzer] if self.buzzer else [])]:
            device.close()
