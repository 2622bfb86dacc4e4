"""The technician's way in: a hidden corner long-press, a PIN, and the status rows shown.

The PIN only guards a read-only screen (no action can be taken from it), so
a short numeric code is enough; three wrong codes lock the gesture for five
minutes. The status is read on the commit worker (the outbox is on disk).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.uix.widget import Widget

from kiosk.core import Kiosk
from kiosk.touch.options import check_pin_format
from ressenti import __version__

if TYPE_CHECKING:
    from kivy.clock import ClockEvent

    from kiosk.link import Link

MAX_ATTEMPTS = 3
LOCKOUT_S = 300.0


class PinGate:
    """Counts wrong codes and locks the way in for a while after too many."""

    def __init__(self, pin: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.pin = check_pin_format(pin, "technician PIN")
        self._clock = clock
        self.failures = 0
        self.locked_until = 0.0

    @property
    def locked(self) -> bool:
        return self._clock() < self.locked_until

    def check(self, entered: str) -> bool:
        if self.locked:
            return False
        if hmac.compare_digest(entered.encode(), self.pin.encode()):
            self.failures = 0
            return True
        self.failures += 1
        if self.failures >= MAX_ATTEMPTS:
            self.failures = 0
            self.locked_until = self._clock() + LOCKOUT_S
        return False


class CornerGesture(Widget):
    """An invisible square in the top-left corner: hold it `hold_s` seconds to call `on_hold`.

    It never consumes the touch, so the screens below behave as if it were not there.
    """

    def __init__(self, on_hold: Callable[[], None], hold_s: float = 3.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_hold = on_hold
        self.hold_s = hold_s
        self._timer: ClockEvent | None = None

    def on_touch_down(self, touch: Any) -> bool:
        if self.collide_point(*touch.pos):
            touch.grab(self)
            self._cancel()
            self._timer = Clock.schedule_once(lambda _dt: self.on_hold(), self.hold_s)
        return False

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is self:
            touch.ungrab(self)
            self._cancel()
        return False

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


ROWS = ("Borne / Kiosk", "Site", "Liaison / Link", "Dernier accusé / Last ack", "File / Queue",
        "Plus ancien / Oldest", "Horloge / Clock", "Version", "Config")


def _ago(moment: float | None) -> str:
    if moment is None:
        return "jamais / never"
    seconds = f"{time.time() - moment:.0f} s"
    return f"il y a {seconds} / {seconds} ago"


def status_rows(kiosk: Kiosk, link: Link | None) -> list[tuple[str, str]]:
    """What the technician screen shows; reads the outbox, so call it off the UI thread."""
    queue = kiosk.outbox.state()
    settings = kiosk.settings
    if link is None:
        link_state = "aucune / none"
    elif link.connected.is_set():
        link_state = f"connecté / connected ({link.broker.url})"
    else:
        link_state = f"déconnecté / disconnected ({link.broker.url})"
    oldest = ("-" if queue.oldest_created is None
              else datetime.fromtimestamp(queue.oldest_created).strftime("%Y-%m-%d %H:%M"))
    values = (
        kiosk.kiosk_id,
        kiosk.site,
        link_state,
        _ago(link.last_ack_at if link else None),
        f"{queue.pending} en attente / pending, {queue.dropped} perdus / dropped",
        oldest,
        f"{kiosk.clock.current().value}, {datetime.now():%Y-%m-%d %H:%M:%S}",
        __version__,
        f"rev {settings.rev}, {settings.scale} visages / faces, question {settings.question_id}",
    )
    return list(zip(ROWS, values, strict=True))
