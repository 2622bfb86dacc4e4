"""The button box on gpiozero's MockFactory: LEDs confirm only committed presses."""

from __future__ import annotations

import pytest

from kiosk.buttons import ButtonBox, StatusLight
from kiosk.core import Kiosk
from kiosk.outbox import Outbox
from kiosk.pinmap import rating_for_position
from ressenti.protocol import KioskSettings


@pytest.fixture
def kiosk(tmp_path):
    k = Kiosk("k1", "s1", Outbox(tmp_path / "o.db"), settings=KioskSettings(scale=4))
    yield k
    k.outbox.close()


@pytest.fixture
def box(kiosk, mock_factory):
    b = ButtonBox(kiosk, pin_factory=mock_factory, bounce_time=None)
    yield b
    b.close()


def press(mock_factory, slot) -> None:
    pin = mock_factory.pin(slot.button.bcm)
    pin.drive_low()
    pin.drive_high()


@pytest.mark.parametrize("position, rating", [(1, 4), (2, 3), (3, 2), (4, 1)])
def test_each_button_records_its_rating_then_lights_its_led(box, kiosk, mock_factory, pinmap, position, rating):
    slot = pinmap.slots[position - 1]
    assert not mock_factory.pin(slot.led.bcm).state
    press(mock_factory, slot)
    [event] = kiosk.outbox.batch()
    assert (event["rating"], event["input"], event["scale"]) == (rating, "button", 4)
    assert mock_factory.pin(slot.led.bcm).state, "LED lit after the commit"
    others = [s for s in pinmap.slots[:4] if s is not slot]
    assert not any(mock_factory.pin(s.led.bcm).state for s in others)


def test_no_led_when_commit_fails(box, kiosk, mock_factory, pinmap):
    kiosk.outbox._conn.execute("PRAGMA query_only = ON")
    slot = pinmap.slots[0]
    press(mock_factory, slot)
    assert not mock_factory.pin(slot.led.bcm).state, "never confirm a press that is not stored"
    assert box.status_light() is StatusLight.FAST
    assert box.fault and "could not commit" in box.fault


def test_scale_three_uses_three_buttons(tmp_path, mock_factory, pinmap):
    k = Kiosk("k1", "s1", Outbox(tmp_path / "o3.db"), settings=KioskSettings(scale=3))
    b = ButtonBox(k, pin_factory=mock_factory, bounce_time=None)
    assert len(b.buttons) == 3
    press(mock_factory, pinmap.slots[3])  # the fourth slot is not wired on a 3-face box
    assert k.outbox.batch() == []
    press(mock_factory, pinmap.slots[2])
    assert k.outbox.batch()[0]["rating"] == 1
    b.close()


def test_pushed_scale_rebuilds_buttons(box, kiosk, mock_factory, pinmap):
    kiosk.apply_settings(KioskSettings(rev=2, scale=5))
    assert len(box.buttons) == 5
    press(mock_factory, pinmap.slots[4])
    assert kiosk.outbox.batch()[0]["rating"] == 1
    assert kiosk.outbox.batch()[0]["scale"] == 5


def test_status_light_modes(kiosk, mock_factory):
    online = {"value": False}
    b = ButtonBox(kiosk, pin_factory=mock_factory, bounce_time=None, is_online=lambda: online["value"])
    assert b.status_light() is StatusLight.SLOW
    online["value"] = True
    assert b.status_light() is StatusLight.STEADY
    kiosk.press(3, "button")
    assert b.status_light() is StatusLight.SLOW, "pending events blink slowly"
    b.refresh_status()
    b.close()


def test_pin_map_bounce_time_reaches_every_button_pin(kiosk, mock_factory, pinmap):
    # Debouncing is done by the pin driver (lgpio's edge filter on a Pi);
    # gpiozero's MockPin records the setting without simulating bounce.
    b = ButtonBox(kiosk, pin_factory=mock_factory)
    for slot in pinmap.slots[:4]:
        assert mock_factory.pin(slot.button.bcm).bounce == pytest.approx(pinmap.bounce_time_s)
        assert mock_factory.pin(slot.button.bcm).pull == "up"
    b.close()


def test_position_to_rating_best_on_the_left():
    assert [rating_for_position(p, 5) for p in range(1, 6)] == [5, 4, 3, 2, 1]
