"""The kiosk core: a press goes through the filter into the outbox; front-ends call `press`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from kiosk.clock import ClockState, boot_id, uptime_ms
from kiosk.filter import PressFilter
from kiosk.outbox import Outbox, OutboxError
from ressenti.errors import BadConfig
from ressenti.protocol import SCALES, Input, KioskSettings, decode_settings, format_ts, is_slug, utc_now

log = logging.getLogger(__name__)


class Fault(StrEnum):
    """What makes the status LED blink fast (issue 3: "disk full, config error")."""

    STORAGE = "storage"  # the outbox could not commit a press (disk full, read-only, I/O)
    CONFIG = "config"  # a pushed config failed validation; the kiosk keeps its current one


class Kiosk:
    """Takes presses from any front-end; knows nothing of GPIO, Kivy or MQTT."""

    def __init__(self, kiosk_id: str, site: str, outbox: Outbox, *,
                 settings: KioskSettings | None = None, clock: ClockState | None = None,
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = utc_now) -> None:
        self.kiosk_id = kiosk_id
        self.site = site
        self.outbox = outbox
        self.clock = clock or ClockState()
        self.boot = boot_id()
        # Front-ends stamp a press with `monotonic()` when it is made (pressed_at);
        # tests pass clocks they move by hand.
        self.monotonic = monotonic
        self._wall = wall
        self._settings = self._restore_settings(settings or KioskSettings())
        self.filter = PressFilter(self._settings.response_interval_s, self._settings.burst_per_minute,
                                  clock=monotonic)
        self._lock = threading.Lock()
        self._on_press: list[Callable[[dict[str, Any]], None]] = []
        self._on_settings: list[Callable[[KioskSettings], None]] = []
        self._faults: dict[Fault, str] = {}
        self._on_fault: list[Callable[[], None]] = []

    def _restore_settings(self, defaults: KioskSettings) -> KioskSettings:
        saved = self.outbox.load_json("settings")
        if saved:
            try:
                restored = decode_settings(saved)
                if restored.rev >= defaults.rev:
                    return restored
            except BadConfig as exc:
                log.error("ignoring saved settings: %s", exc)
        return defaults

    @property
    def settings(self) -> KioskSettings:
        return self._settings

    def on_press(self, callback: Callable[[dict[str, Any]], None]) -> None:
        """Called after each committed press (the link uses it to send at once)."""
        self._on_press.append(callback)

    def on_settings(self, callback: Callable[[KioskSettings], None]) -> None:
        self._on_settings.append(callback)

    def on_fault(self, callback: Callable[[], None]) -> None:
        """Called whenever a fault is raised or cleared (front-ends refresh their status light)."""
        self._on_fault.append(callback)

    @property
    def faults(self) -> dict[Fault, str]:
        """The current faults and their messages; empty when all is well."""
        return dict(self._faults)

    def report_fault(self, kind: Fault, message: str) -> None:
        changed = self._faults.get(kind) != message
        self._faults[kind] = message
        if changed:
            self._fault_changed()

    def clear_fault(self, kind: Fault) -> None:
        if self._faults.pop(kind, None) is not None:
            log.info("fault cleared: %s", kind.value)
            self._fault_changed()

    def _fault_changed(self) -> None:
        for callback in self._on_fault:
            try:
                callback()
            except Exception:  # a front-end's refresh must not break a press
                log.exception("fault callback failed")

    def press(self, rating: int, source: Input, *, followup: dict[str, str] | None = None,
              lang: str = "fr", pressed_at: float | None = None, scale: int | None = None,
              question_id: str | None = None) -> dict[str, Any]:
        """Record a rating durably; return the event once committed (then show "merci").

        `pressed_at` is `self.monotonic()` when the citizen pressed; the event's
        time and the filter's flags are taken from it, so a touch rating that
        waited for its follow-up answer is counted when it was given (issue 4).
        `scale` and `question_id` are those the citizen was shown; a config
        pushed in between does not change what they answered (default: the
        current settings).
        """
        settings = self._settings
        scale = settings.scale if scale is None else scale
        question_id = settings.question_id if question_id is None else question_id
        if scale not in SCALES:
            raise ValueError(f"scale {scale!r} is not one of {SCALES}")
        if not is_slug(question_id):
            raise ValueError(f"question id {question_id!r} is not a slug")
        if not 1 <= rating <= scale:
            raise ValueError(f"rating {rating} outside scale {scale}")
        with self._lock:
            now = self.monotonic()
            at = now if pressed_at is None else pressed_at
            if at > now:
                raise ValueError(f"pressed_at {at} is after now ({now}): not from kiosk.monotonic()")
            age = timedelta(seconds=now - at)
            fields = {
                "ts": format_ts(self._wall() - age),
                "clock": self.clock.current().value,
                "boot": self.boot,
                "up_ms": max(0, uptime_ms() - round(age.total_seconds() * 1000)),
                "question": question_id,
                "scale": scale,
                "rating": rating,
                "input": Input(source).value,
                "flags": self.filter.flags_for_press(at),
                "followup": followup,
                "lang": lang,
            }
            try:
                event = self.outbox.append(fields)
            except OutboxError as exc:
                self.report_fault(Fault.STORAGE, str(exc))
                raise
        if Fault.STORAGE in self._faults:
            self.clear_fault(Fault.STORAGE)
        for callback in self._on_press:
            callback(event)
        return event

    def apply_settings(self, settings: KioskSettings) -> bool:
        """Apply pushed settings if their rev is higher; persist them first."""
        if settings.rev <= self._settings.rev:
            return False
        self.outbox.save_json("settings", settings.to_wire())
        self._settings = settings
        self.filter.response_interval_s = settings.response_interval_s
        self.filter.burst_per_minute = settings.burst_per_minute
        log.info("applied config rev %d (scale %d)", settings.rev, settings.scale)
        for callback in self._on_settings:
            callback(settings)
        return True
