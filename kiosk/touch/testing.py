"""Drive the touch screens without a hand: step Kivy's loop, tap widgets, press keys.

Used by the tests, `shoot.py` and `bench/touch_latency.py`, the way Kivy's own
tests use `kivy.tests.common`: the event loop is stepped with
`EventLoop.idle()` (clock, input, drawing) instead of blocking in `App.run()`.
Call `kiosk.touch.env.prepare()` before anything here touches Kivy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

# What the tests set (through monkeypatch) before Kivy is imported.
TEST_ENVIRONMENT = {
    "KIVY_NO_ARGS": "1",
    "KIVY_NO_CONSOLELOG": "1",
    "KIVY_NO_CONFIG": "1",
    "KIVY_NO_FILELOG": "1",
    "KIVY_LOG_MODE": "PYTHON",
}


def open_window(size: tuple[int, int]) -> Any:
    """The process's Kivy window at `size`, with the event loop started."""
    from kivy.base import EventLoop
    from kivy.core.window import Window

    EventLoop.ensure_window()
    if EventLoop.status != "started":
        EventLoop.start()
    Window.size = size
    pump()
    return Window


def pump(until: Callable[[], object] | None = None, *, frames: int = 3,
         timeout: float = 10.0, what: str = "the expected screen") -> None:
    """Step the loop at least `frames` frames, and on until `until()` is true."""
    from kivy.base import EventLoop

    deadline = time.monotonic() + timeout
    done = 0
    while done < frames or (until is not None and not until()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        EventLoop.idle()
        done += 1


def pump_for(seconds: float) -> None:
    """Keep the loop running for `seconds` (timers, commits coming back)."""
    end = time.monotonic() + seconds
    pump(lambda: time.monotonic() >= end, frames=1, timeout=seconds + 5)


def touch_at(x: float, y: float) -> Any:
    """A finger down at window coordinates (x, y); call `.touch_up()` on the result."""
    from kivy.tests.common import UnitTestTouch

    touch = UnitTestTouch(x, y)
    touch.touch_down()
    return touch


def tap(widget: Any) -> None:
    """Touch the middle of `widget` and lift the finger, as a citizen would.

    Two frames first: a screen just switched to ignores touches until its
    (instant) transition has ended and its layout is done, as it would for a hand.
    """
    pump(frames=2)
    x, y = widget.to_window(*widget.center)
    touch = touch_at(x, y)
    pump(frames=1)
    touch.touch_up()
    pump(frames=1)


def press_key(key: int, codepoint: str | None = None) -> None:
    """A key of a USB keypad or switch interface (Kivy keycode, e.g. ord("1"), 257 = keypad 1)."""
    from kivy.core.window import Window

    pump(frames=2)
    Window.dispatch("on_key_down", key, 0, codepoint, [])
    Window.dispatch("on_key_up", key, 0)
    pump(frames=1)
