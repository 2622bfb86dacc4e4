"""Transparent anti-stuffing: flags presses that come too fast; never drops one.

A press within `response_interval_s` of another press is flagged
`rapid_repeat`; more than `burst_per_minute` presses in the 60 s up to a press
flags `burst`. The collector counts flagged presses apart, so raw and filtered
figures can be shown side by side.

Presses are placed at the moment they were made (the tap), not when they were
committed: a touch rating waits for its follow-up answer (up to two minutes)
and may reach the filter after a later button press. Of two presses too close
together, the one that reaches the filter second is the one flagged (the first
is already on disk).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

from ressenti.protocol import Flag

WINDOW_S = 60.0
# How long a press is remembered: the burst window plus how late a press may
# arrive (a follow-up waits at most 120 s, docs/touch.md).
MEMORY_S = WINDOW_S + 300.0


class PressFilter:
    def __init__(self, response_interval_s: float = 4.0, burst_per_minute: int = 12,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.response_interval_s = response_interval_s
        self.burst_per_minute = burst_per_minute
        self._clock = clock
        self._presses: list[float] = []  # monotonic times, sorted

    def flags_for_press(self, at: float | None = None) -> list[str]:
        """Record a press made at `at` (the filter's clock; default now) and return its flags."""
        now = self._clock()
        at = now if at is None else at
        presses = self._presses
        index = bisect.bisect_right(presses, at)
        before = presses[index - 1] if index else None
        after = presses[index] if index < len(presses) else None
        presses.insert(index, at)
        flags = []
        if (before is not None and at - before < self.response_interval_s
                or after is not None and after - at < self.response_interval_s):
            flags.append(Flag.RAPID_REPEAT.value)
        in_window = index + 1 - bisect.bisect_right(presses, at - WINDOW_S)
        if in_window > self.burst_per_minute:
            flags.append(Flag.BURST.value)
        del presses[:bisect.bisect_left(presses, max(now, presses[-1]) - MEMORY_S)]
        return flags
