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
