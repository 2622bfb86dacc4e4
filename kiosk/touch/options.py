"""The touch front-end's settings (the `[touch]` table of kiosk.toml) and its technician PIN.

No Kivy here: kiosk/config.py builds `TouchOptions` when it reads the file, and
the PIN is read when the touch front-end starts (kiosk/touch/run.py).

The PIN lives in its own file (`pin_file`, one line of 4-8 digits, mode 0640,
owner root, group the kiosk user; deploy/roles/ressenti_kiosk installs it).
`RESSENTI_TOUCH_PIN` overrides it, for development. A missing, unreadable or
malformed PIN file does not stop the kiosk: citizens can still rate, the
technician screen is off, and the journal says why (docs/touch.md).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ressenti.errors import BadConfig

log = logging.getLogger(__name__)

DEFAULT_PIN_FILE = Path("/etc/ressenti/touch-pin")
PIN_ENV = "RESSENTI_TOUCH_PIN"
_PIN_RE = re.compile(r"^[0-9]{4,8}$")


class Fullscreen(StrEnum):
    AUTO = "auto"  # full screen on a console (KMS/DRM), a window under a desktop
    ON = "true"
    OFF = "false"


@dataclass(frozen=True)
class TouchOptions:
    """Switches and timings of the touch front-end (docs/touch.md)."""

    pin_file: Path = DEFAULT_PIN_FILE
    sound: bool = False
    fullscreen: Fullscreen = Fullscreen.AUTO
    idle_after_s: float = 60.0
    thanks_s: float = 3.0
    # Read from pin_file (or RESSENTI_TOUCH_PIN) when the front-end starts;
    # None: the technician screen is off.
    tech_pin: str | None = None
    # Not in kiosk.toml; tests and screenshots shorten them.
    fault_s: float = 6.0
    gesture_s: float = 3.0
    tech_timeout_s: float = 60.0

    @property
    def fullscreen_flag(self) -> bool | None:
        """For kiosk.touch.env.prepare: None lets it decide (console or RESSENTI_TOUCH_FULLSCREEN)."""
        return {Fullscreen.AUTO: None, Fullscreen.ON: True, Fullscreen.OFF: False}[self.fullscreen]


def check_pin_format(pin: str, where: str = PIN_ENV) -> str:
    if not _PIN_RE.match(pin):
        raise BadConfig(f"the technician PIN must be 4 to 8 digits ({where})")
    return pin


def technician_pin(pin_file: Path, environ: Mapping[str, str] = os.environ) -> str | None:
    """The technician PIN, or None (logged) when the technician screen must stay off."""
    override = environ.get(PIN_ENV)
    if override is not None:
        log.warning("technician PIN taken from %s (development), not from %s", PIN_ENV, pin_file)
        return check_pin_format(override)
    try:
        pin = pin_file.read_text().strip()
    except FileNotFoundError:
        log.error("technician screen off: no PIN file %s; put 4 to 8 digits there "
                  "(mode 0640, group of the kiosk user)", pin_file)
        return None
    except OSError as exc:
        log.error("technician screen off: cannot read the PIN file %s (%s); check its owner "
                  "and mode (0640, group of the kiosk user)", pin_file, exc.strerror)
        return None
    if not _PIN_RE.match(pin):
        log.error("technician screen off: the PIN file %s must hold 4 to 8 digits "
                  "(it holds %d characters)", pin_file, len(pin))
        return None
    return pin
