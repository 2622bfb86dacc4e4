"""Which gpiozero pin factory a button kiosk uses: mock pins off a Pi, the Pi's own driver, or a clear error."""

from __future__ import annotations

import warnings
from pathlib import Path

from gpiozero import Device
from gpiozero.exc import BadPinFactory, PinFactoryFallback
from gpiozero.pins import Factory

from ressenti.errors import NoGpio


def pin_factory_for(mock_pins: bool, config_path: str | Path = "the kiosk config") -> Factory:
    """gpiozero's MockFactory when `mock_pins`, else the machine's default factory.

    Off a Pi, gpiozero warns once per driver it tries and then raises
    BadPinFactory from deep inside the first LED; here that becomes one line
    that says what to do (issue 18).
    """
    if mock_pins:
        from gpiozero.pins.mock import MockFactory
        return MockFactory()
    if Device.pin_factory is not None:
        return Device.pin_factory
    with warnings.catch_warnings(record=True) as tried:
        warnings.simplefilter("always", PinFactoryFallback)
        try:
            Device.ensure_pin_factory()
        except BadPinFactory:
            reasons = "; ".join(str(w.message).removeprefix("Falling back from ") for w in tried
                                if issubclass(w.category, PinFactoryFallback))
            raise NoGpio(
                f"no GPIO on this machine ({reasons or 'gpiozero found no pin driver'}): on a Raspberry Pi "
                "install lgpio (apt-get install python3-lgpio, or pip install lgpio in the venv); "
                f"off a Pi set mock_pins = true in {config_path}") from None
    assert Device.pin_factory is not None
    return Device.pin_factory
