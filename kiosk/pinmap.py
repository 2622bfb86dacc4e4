"""Loads kiosk/pinmap.toml, the single source of the button box's pin numbers."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Pin:
    bcm: int
    physical: int


@dataclass(frozen=True)
class Slot:
    position: int
    button: Pin
    led: Pin


@dataclass(frozen=True)
class PinMap:
    slots: tuple[Slot, ...]
    status_led: Pin
    buzzer: Pin
    bounce_time_s: float

    def slots_for_scale(self, scale: int) -> tuple[Slot, ...]:
        return self.slots[:scale]


def rating_for_position(position: int, scale: int) -> int:
    """Best face on the left: position 1 is rating `scale`, position `scale` is rating 1."""
    return scale + 1 - position


def load_pinmap(text: str | None = None) -> PinMap:
    data = tomllib.loads(text or resources.files("kiosk").joinpath("pinmap.toml").read_text())
    slots = tuple(
        Slot(s["position"], Pin(**s["button"]), Pin(**s["led"]))
        for s in sorted(data["slot"], key=lambda s: s["position"])
    )
    return PinMap(slots, Pin(**data["status_led"]), Pin(**data["buzzer"]), data["bounce_time_s"])
