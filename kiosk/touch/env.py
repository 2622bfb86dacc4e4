"""Kivy's environment and config for a kiosk: call `prepare()` before anything imports Kivy.

Kivy reads its environment once, when `kivy` is first imported, and its
[graphics] config when the window is created. On a Raspberry Pi without a
desktop (no DISPLAY, no WAYLAND_DISPLAY) SDL2 draws on KMS/DRM, full screen,
cursor hidden; on a laptop the kiosk opens an 800x480 window (docs/touch.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

_prepared = False


def on_console(environ: Mapping[str, str] = os.environ) -> bool:
    """True on a Pi without a desktop: nothing to open a window in, so draw on KMS/DRM."""
    return not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def prepare(*, fullscreen: bool | None = None, size: tuple[int, int] = (800, 480)) -> None:
    """Set Kivy's environment and config; `fullscreen=None` decides from `on_console()`."""
    global _prepared
    if _prepared:
        return
    if "kivy" in sys.modules:
        raise RuntimeError("kivy was imported before kiosk.touch.env.prepare(): its environment"
                           " (KIVY_NO_CONFIG, KIVY_LOG_MODE...) would be ignored;"
                           " call prepare() first")
    console = on_console()
    if fullscreen is None:
        fullscreen = console or os.environ.get("RESSENTI_TOUCH_FULLSCREEN") == "1"
    defaults = {
        "KIVY_NO_ARGS": "1",  # the kiosk's own arguments (and pytest's) are not Kivy's
        "KIVY_NO_CONFIG": "1",  # no ~/.kivy/config.ini: everything is set below, in code
        "KIVY_NO_FILELOG": "1",
        "KIVY_LOG_MODE": "PYTHON",  # Kivy logs through `logging`, so to the journal
        "KIVY_WINDOW": "sdl2",
        # SDL2 only, for text, images and the chime. Kivy tries PIL first for
        # text and last for images, and ffpyplayer or GStreamer for sound: on a
        # system where one of them is installed, that would load it too (more
        # memory, another library to trust; issue 4, docs/touch.md).
        "KIVY_TEXT": "sdl2",
        "KIVY_IMAGE": "sdl2",
        "KIVY_AUDIO": "sdl2",
    }
    if console:
        defaults["SDL_VIDEODRIVER"] = "kmsdrm"
    for key, value in defaults.items():
        os.environ.setdefault(key, value)

    from kivy.config import Config

    Config.set("kivy", "exit_on_escape", "0")  # Escape is the follow-up's "skip" key
    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "show_cursor", "0" if fullscreen else "1")
    Config.set("graphics", "allow_screensaver", "0")
    Config.set("graphics", "maxfps", "60")
    # No multisampling: under a software renderer (CI, a Pi without its GPU
    # driver) it made every frame 4-6x slower, and the faces' thick outlines
    # read well without it (docs/touch.md, "Benchmarks").
    Config.set("graphics", "multisamples", "0")
    # One input path only: SDL2 turns the touch panel into a left mouse button.
    # Kivy's probesysfs provider would read the same panel again from
    # /dev/input and every tap would arrive twice.
    for option, _ in Config.items("input"):
        Config.remove_option("input", option)
    Config.set("input", "mouse", "mouse,disable_multitouch")
    _prepared = True
