"""The button box's status LED: one pattern per state, played by a daemon thread.

steady = online and nothing pending; slow blink = offline or events pending;
fast blink = fault (disk full, config error); double blink = self-test mode.
Each pattern is data (state, seconds) so tests can check the pin against it.
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum

from gpiozero import LED

log = logging.getLogger(__name__)


class StatusLight(StrEnum):
    STEADY = "steady"  # online, nothing pending
    SLOW = "slow"  # offline or events pending
    FAST = "fast"  # fault: the outbox cannot commit, or a config is invalid
    SELFTEST = "selftest"  # self-test mode (hold gesture): presses are not recorded


# One cycle of each pattern: (LED on?, seconds). None = hold until the mode changes.
PATTERNS: dict[StatusLight, tuple[tuple[bool, float | None], ...]] = {
    StatusLight.STEADY: ((True, None),),
    StatusLight.SLOW: ((True, 1.0), (False, 1.0)),
    StatusLight.FAST: ((True, 0.1), (False, 0.1)),
    # A heartbeat-like double blink, unlike any of the three states above.
    StatusLight.SELFTEST: ((True, 0.15), (False, 0.15), (True, 0.15), (False, 0.75)),
}


class StatusLed:
    """Plays the pattern of the current mode on `led` until `close`; `show` switches at once."""

    def __init__(self, led: LED) -> None:
        self.led = led
        self._mode: StatusLight | None = None
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._play, name="status-led", daemon=True)
        self._thread.start()

    @property
    def mode(self) -> StatusLight | None:
        return self._mode

    def show(self, mode: StatusLight) -> None:
        with self._lock:
            if mode is self._mode:
                return
            self._mode = mode
        self._changed.set()

    def _play(self) -> None:
        while not self._stop.is_set():
            self._changed.clear()
            mode = self._mode
            if mode is None:
                self._changed.wait()
                continue
            try:
                self._cycle(PATTERNS[mode])
            except Exception:  # a closed or failing pin must not kill the thread silently
                log.exception("status LED pattern failed")
                self._stop.wait(1.0)

    def _cycle(self, pattern: tuple[tuple[bool, float | None], ...]) -> None:
        """One cycle of `pattern`; returns early when the mode changes or on close."""
        for state, seconds in pattern:
            self.led.value = state
            if self._changed.wait(seconds):
                return

    def close(self, timeout: float = 2.0) -> None:
        self._stop.set()
        self._changed.set()
        self._thread.join(timeout)
        self.led.close()
