"""Transparent anti-stuffing: flags presses that come too fast; never drops one.

A press within `response_interval_s` of the previous press is flagged
`rapid_repeat`; more than `burst_per_minute` presses in 60 s flags `burst`.
The collector counts flagged presses apart, so raw and filtered figures can be
shown side by side.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from ressenti.protocol import Flag


class PressFilter:
    def __init__(self, response_interval_s: float = 4.0, burst_per_minute: int = 12,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.response_interval_s = response_interval_s
        self.burst_per_minute = burst_per_minute
        self._clock = clock
        self._recent: deque[float] = deque()

    def flags_for_press(self) -> list[str]:
        """Record a press now and return its flags."""
        now = self._clock()
        flags = []
        if self._recent and now - self._recent[-1] < self.response_interval_s:
            flags.append(Flag.RAPID_REPEAT.value)
        self._recent.append(now)
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) > self.burst_per_minute:
            flags.append(Flag.BURST.value)
        return flags
