"""The press filter flags, never drops."""

from __future__ import annotations

import pytest

from kiosk.filter import PressFilter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("gaps, expected", [
    ([], [[]]),
    ([5.0], [[], []]),
    ([3.9], [[], ["rapid_repeat"]]),
    ([4.0], [[], []]),
    ([1, 1, 10], [[], ["rapid_repeat"], ["rapid_repeat"], []]),
])
def test_response_interval(gaps, expected):
    clock = FakeClock()
    f = PressFilter(response_interval_s=4, burst_per_minute=100, clock=clock)
    flags = [f.flags_for_press()]
    for gap in gaps:
        clock.now += gap
        flags.append(f.flags_for_press())
    assert flags == expected


def test_burst_over_n_per_minute():
    clock = FakeClock()
    f = PressFilter(response_interval_s=0, burst_per_minute=3, clock=clock)
    flags = []
    for _ in range(5):
        flags.append(f.flags_for_press())
        clock.now += 5
    assert flags == [[], [], [], ["burst"], ["burst"]]
    clock.now += 60
    assert f.flags_for_press() == []


def test_a_press_counts_at_the_moment_it_was_made_not_when_it_arrives():
    """A tap that waited 10 s for its follow-up answer is placed at the tap (issue 4)."""
    clock = FakeClock()
    f = PressFilter(response_interval_s=4, burst_per_minute=100, clock=clock)
    assert f.flags_for_press() == []
    tapped = clock.now + 5  # 5 s after the previous press: not a rapid repeat...
    clock.now += 15  # ...even though it reaches the filter 10 s later
    assert f.flags_for_press(at=tapped) == []
    assert f.flags_for_press(at=tapped + 4) == []  # 4 s after the tap: not rapid either
    assert f.flags_for_press(at=tapped + 6) == ["rapid_repeat"]  # 2 s after the one before


def test_a_late_press_close_to_a_later_one_is_the_one_flagged():
    clock = FakeClock()
    f = PressFilter(response_interval_s=4, burst_per_minute=100, clock=clock)
    tapped = clock.now
    clock.now += 2
    assert f.flags_for_press() == []  # a button press while the touch follow-up is open
    clock.now += 10
    assert f.flags_for_press(at=tapped) == ["rapid_repeat"], "2 s before the button press"


def test_burst_counts_the_minute_before_the_press_made():
    clock = FakeClock()
    f = PressFilter(response_interval_s=0, burst_per_minute=3, clock=clock)
    start = clock.now
    for _ in range(3):
        assert f.flags_for_press() == []
        clock.now += 5
    clock.now += 100
    assert f.flags_for_press(at=start + 12) == ["burst"], "4th press within the minute it was made"
    assert f.flags_for_press() == [], "the minute before now holds no other press"
