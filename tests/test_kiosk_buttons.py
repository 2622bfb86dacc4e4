"""Button box on MockFactory: status LED patterns on the pin, faults, the self-test gesture and mode."""

from __future__ import annotations

import math
import threading
import time

import pytest
from gpiozero import LED

from kiosk.buttons import CONFIRM_S, ButtonBox
from kiosk.core import Fault, Kiosk
from kiosk.outbox import Outbox
from kiosk.status_light import PATTERNS, StatusLed, StatusLight
from ressenti.protocol import KioskSettings

TOLERANCE_S = 0.06


@pytest.fixture
def kiosk(tmp_path):
    k = Kiosk("k1", "s1", Outbox(tmp_path / "o.db"), settings=KioskSettings(scale=4))
    yield k
    k.outbox.close()


def make_box(kiosk, mock_factory, **options) -> ButtonBox:
    return ButtonBox(kiosk, pin_factory=mock_factory, bounce_time=None, **options)


def segments(pin) -> list[tuple[bool, float]]:
    """(state, seconds it lasted) for each finished segment on a MockPin, the first (partial) one dropped."""
    states = pin.states
    return [(states[i - 1].state, states[i].timestamp) for i in range(2, len(states))]


def matches_pattern(observed: list[tuple[bool, float]], pattern) -> bool:
    """`observed` is the pattern played in a loop, from some point of the cycle."""
    for offset in range(len(pattern)):
        if all(state == pattern[(offset + i) % len(pattern)][0]
               and math.isclose(seconds, pattern[(offset + i) % len(pattern)][1], abs_tol=TOLERANCE_S)
               for i, (state, seconds) in enumerate(observed)):
            return True
    return False


def test_each_status_light_plays_its_pattern_on_the_pin(mock_factory, wait):
    pins = {StatusLight.SLOW: 2, StatusLight.FAST: 3, StatusLight.SELFTEST: 4, StatusLight.STEADY: 7}
    leds = {mode: StatusLed(LED(pin, pin_factory=mock_factory)) for mode, pin in pins.items()}
    try:
        for mode, status in leds.items():
            status.show(mode)
        steady = mock_factory.pin(pins[StatusLight.STEADY])
        wait(lambda: steady.state, what="steady on")
        for mode in leds:
            mock_factory.pin(pins[mode]).clear_states()
        blinking = {StatusLight.SLOW: 4, StatusLight.FAST: 10, StatusLight.SELFTEST: 10}
        for mode, count in blinking.items():
            pin = mock_factory.pin(pins[mode])
            wait(lambda pin=pin, count=count: len(pin.states) >= count, timeout=6, what=f"{mode} cycles")
            observed = segments(pin)
            assert matches_pattern(observed, PATTERNS[mode]), (mode, observed)
        steady = mock_factory.pin(pins[StatusLight.STEADY])
        assert steady.state and len(steady.states) == 1, "steady: on, and no change at all"
    finally:
        for status in leds.values():
            status.close()


def test_status_light_switches_at_once_not_at_the_end_of_a_cycle(mock_factory, wait):
    status = StatusLed(LED(2, pin_factory=mock_factory))
    status.show(StatusLight.SLOW)
    pin = mock_factory.pin(2)
    wait(lambda: pin.state, what="slow blink on")
    pin.clear_states()
    status.show(StatusLight.FAST)
    wait(lambda: len(pin.states) >= 5, timeout=2, what="fast blink")
    assert all(seconds < 0.1 + TOLERANCE_S for _, seconds in segments(pin))
    status.close()


def test_box_status_follows_link_queue_and_faults(kiosk, mock_factory, wait, pinmap):
    online = {"value": True}
    box = make_box(kiosk, mock_factory, is_online=lambda: online["value"])
    status_pin = mock_factory.pin(pinmap.status_led.bcm)
    try:
        wait(lambda: box.status.mode is StatusLight.STEADY, what="steady")
        # The mode is set at once; the LED thread turns the pin on a moment later.
        wait(lambda: status_pin.state, what="steady light on")
        online["value"] = False
        wait(lambda: box.status.mode is StatusLight.SLOW, what="slow when offline")
        kiosk.report_fault(Fault.CONFIG, "pushed config ignored: scale 7")
        assert box.status.mode is StatusLight.FAST, "a fault shows at once, without waiting for a poll"
        assert box.fault == "pushed config ignored: scale 7"
        status_pin.clear_states()
        wait(lambda: len(status_pin.states) >= 6, timeout=2, what="fast blink on the pin")
        assert matches_pattern(segments(status_pin), PATTERNS[StatusLight.FAST])
        kiosk.clear_fault(Fault.CONFIG)
        assert box.status.mode is StatusLight.SLOW
    finally:
        box.close()


def test_storage_fault_blinks_fast_until_a_press_commits_again(kiosk, mock_factory, pinmap):
    box = make_box(kiosk, mock_factory, is_online=lambda: True)
    button = mock_factory.pin(pinmap.slots[0].button.bcm)
    try:
        kiosk.outbox._conn.execute("PRAGMA query_only = ON")  # fails like a full or read-only disk
        button.drive_low()
        button.drive_high()
        assert box.status.mode is StatusLight.FAST
        assert Fault.STORAGE in kiosk.faults
        assert not mock_factory.pin(pinmap.slots[0].led.bcm).state
        kiosk.outbox._conn.execute("PRAGMA query_only = OFF")
        button.drive_low()
        button.drive_high()
        assert kiosk.faults == {}
        assert mock_factory.pin(pinmap.slots[0].led.bcm).state
    finally:
        box.close()


def test_confirmation_led_is_lit_when_the_press_returns_and_goes_off_after(kiosk, mock_factory, wait, pinmap):
    box = make_box(kiosk, mock_factory)
    led = mock_factory.pin(pinmap.slots[1].led.bcm)
    button = mock_factory.pin(pinmap.slots[1].button.bcm)
    try:
        button.drive_low()
        assert led.state, "lit synchronously, right after the commit"
        button.drive_high()
        wait(lambda: not led.state, timeout=CONFIRM_S + 2, what="LED off after the confirmation")
        on_for = led.states[-1].timestamp
        assert on_for == pytest.approx(CONFIRM_S, abs=0.2)
    finally:
        box.close()


def test_a_chord_is_not_a_rating(kiosk, mock_factory, pinmap):
    box = make_box(kiosk, mock_factory)
    held, other = (mock_factory.pin(pinmap.slots[i].button.bcm) for i in (1, 2))
    try:
        held.drive_low()
        other.drive_low()
        other.drive_high()
        held.drive_high()
        assert [e["rating"] for e in kiosk.outbox.batch()] == [3], "only the first button counts"
        assert not mock_factory.pin(pinmap.slots[2].led.bcm).state, "no confirmation for the chord"
    finally:
        box.close()


def hold_outer_buttons(mock_factory, pinmap, scale: int, wait, until) -> None:
    first, last = (mock_factory.pin(pinmap.slots[i].button.bcm) for i in (0, scale - 1))
    first.drive_low()
    last.drive_low()
    wait(until, timeout=3, what="the hold gesture to take effect")
    first.drive_high()
    last.drive_high()


def press(mock_factory, slot) -> None:
    pin = mock_factory.pin(slot.button.bcm)
    pin.drive_low()
    pin.drive_high()


def test_hold_gesture_enters_self_test_where_presses_light_but_record_nothing(kiosk, mock_factory, wait,
                                                                               pinmap):
    box = make_box(kiosk, mock_factory, hold_s=0.2, buzzer=True)
    try:
        hold_outer_buttons(mock_factory, pinmap, 4, wait, lambda: box.selftest.active)
        recorded = kiosk.outbox.state().last_seq
        assert recorded == 1, "the gesture's first button is a press like any other; the second is a chord"
        assert box.status.mode is StatusLight.SELFTEST
        buzzer = mock_factory.pin(pinmap.buzzer.bcm)
        for slot in pinmap.slots[:4]:
            buzzer.clear_states()
            press(mock_factory, slot)
            assert mock_factory.pin(slot.led.bcm).state, f"LED {slot.position} lights in self-test"
            wait(lambda: len(buzzer.states) >= 3, what="a beep")  # on, then off again
        assert kiosk.outbox.state().last_seq == recorded, "self-test records nothing"

        hold_outer_buttons(mock_factory, pinmap, 4, wait, lambda: not box.selftest.active)
        assert kiosk.outbox.state().last_seq == recorded, "nor does the gesture that ends it"
        assert box.status.mode is not StatusLight.SELFTEST
        press(mock_factory, pinmap.slots[1])
        assert kiosk.outbox.state().last_seq == recorded + 1, "presses count again after self-test"
    finally:
        box.close()


def test_self_test_ends_by_itself_after_inactivity_and_a_press_restarts_the_countdown(
        kiosk, mock_factory, wait, pinmap):
    box = make_box(kiosk, mock_factory, hold_s=0.1, selftest_inactivity_s=0.6)
    try:
        hold_outer_buttons(mock_factory, pinmap, 4, wait, lambda: box.selftest.active)
        time_passes = threading.Event()
        for _ in range(3):
            time_passes.wait(0.3)  # half the countdown
            press(mock_factory, pinmap.slots[2])
            assert box.selftest.active, "each press restarts the countdown"
        last_press = time.monotonic()
        wait(lambda: not box.selftest.active, timeout=3, what="self-test to end after inactivity")
        assert time.monotonic() - last_press >= 0.6 - TOLERANCE_S
        assert kiosk.outbox.state().last_seq == 1
    finally:
        box.close()


def test_gesture_uses_the_outer_buttons_of_the_current_scale(tmp_path, mock_factory, wait, pinmap):
    k = Kiosk("k3", "s1", Outbox(tmp_path / "o3.db"), settings=KioskSettings(scale=3))
    box = make_box(k, mock_factory, hold_s=0.1)
    try:
        hold_outer_buttons(mock_factory, pinmap, 3, wait, lambda: box.selftest.active)
        k.apply_settings(KioskSettings(rev=1, scale=5))
        box.selftest.toggle()
        hold_outer_buttons(mock_factory, pinmap, 5, wait, lambda: box.selftest.active)
    finally:
        box.close()
        k.outbox.close()
