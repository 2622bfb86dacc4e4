"""The button box's self-test mode, entered by holding the two outer buttons.

While it is on, a press lights its own LED and beeps but records nothing, so a
technician can check every button on site without adding ratings. It ends
with the same gesture, or by itself after `inactivity_s` without a press.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

HOLD_S = 5.0  # hold both outer buttons this long to enter or leave
INACTIVITY_S = 30.0  # leave by itself after this long without a press


class SelfTestMode:
    def __init__(self, *, inactivity_s: float = INACTIVITY_S,
                 on_change: Callable[[bool], None] = lambda active: None) -> None:
        self.inactivity_s = inactivity_s
        self.on_change = on_change
        self._active = threading.Event()
        self._poke = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="self-test", daemon=True)
        self._thread.start()

    @property
    def active(self) -> bool:
        return self._active.is_set()

    def toggle(self) -> None:
        self._set(not self.active, "hold gesture")

    def pressed(self) -> None:
        """A press while in self-test: restart the inactivity countdown."""
        self._poke.set()

    def _set(self, active: bool, why: str) -> None:
        with self._lock:
            if active == self.active:
                return
            if active:
                self._active.set()
            else:
                self._active.clear()
        log.warning("self-test mode %s (%s): presses are %s", "on" if active else "off", why,
                    "NOT recorded" if active else "recorded again")
        self._poke.set()
        self.on_change(active)

    def _watch(self) -> None:
        while not self._stop.is_set():
            if not self._active.is_set():
                self._poke.wait()
                self._poke.clear()
                continue
            poked = self._poke.wait(self.inactivity_s)
            self._poke.clear()
            if not poked and not self._stop.is_set():
                self._set(False, f"no press for {self.inactivity_s:g} s")

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._poke.set()
        self._thread.join(timeout)
