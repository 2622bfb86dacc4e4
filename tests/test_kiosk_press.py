"""Kiosk.press: the event carries the moment of the press and the question the citizen saw."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kiosk.clock import ClockState, uptime_ms
from kiosk.core import Kiosk
from kiosk.outbox import Outbox
from ressenti.protocol import Clock, Input, KioskSettings, decode_event, format_ts


class ManualTime:
    """A monotonic clock and a wall clock that move together, by hand."""

    def __init__(self) -> None:
        self.mono = 5000.0
        self.start = datetime(2026, 11, 22, 9, 14, 3, 120000, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> datetime:
        return self.start + timedelta(seconds=self.mono - 5000.0)

    def advance(self, seconds: float) -> None:
        self.mono += seconds


@pytest.fixture
def time_() -> ManualTime:
    return ManualTime()


@pytest.fixture
def kiosk(tmp_path, time_):
    outbox = Outbox(tmp_path / "outbox.db")
    yield Kiosk("borne-1", "mairie", outbox, settings=KioskSettings(rev=1, scale=4),
                clock=ClockState(Clock.NTP), monotonic=time_.monotonic, wall=time_.wall)
    outbox.close()


def test_a_tap_answered_10_s_later_is_stamped_at_the_tap(kiosk, time_):
    tapped_at, tap_wall = kiosk.monotonic(), time_.wall()
    time_.advance(10)  # the citizen reads the follow-up question and answers
    event = kiosk.press(1, Input.TOUCH, followup={"question": "why", "choice": "wait"},
                        pressed_at=tapped_at)
    assert event["ts"] == format_ts(tap_wall)
    # up_ms too: the collector corrects unsynced clocks with it.
    assert abs(uptime_ms() - 10_000 - event["up_ms"]) < 1000
    assert decode_event(event).ts == tap_wall


def test_without_pressed_at_the_press_is_now(kiosk, time_):
    time_.advance(3)
    assert kiosk.press(2, Input.BUTTON)["ts"] == format_ts(time_.wall())


def test_flags_use_the_tap_moment(kiosk, time_):
    """A tap 5 s after a press is not a rapid repeat because its follow-up took 10 s more."""
    kiosk.press(4, Input.BUTTON)
    time_.advance(5)
    tapped_at = kiosk.monotonic()
    time_.advance(10)
    assert kiosk.press(1, Input.TOUCH, pressed_at=tapped_at)["flags"] == []
    time_.advance(1)
    tapped_at = kiosk.monotonic()  # 16 s after the first press, 1 s after the last commit
    assert kiosk.press(3, Input.TOUCH, pressed_at=tapped_at)["flags"] == []
    assert kiosk.press(3, Input.BUTTON)["flags"] == ["rapid_repeat"]


def test_a_press_in_the_future_is_refused(kiosk):
    with pytest.raises(ValueError, match="pressed_at"):
        kiosk.press(1, Input.TOUCH, pressed_at=kiosk.monotonic() + 1)
    assert kiosk.outbox.state().pending == 0


def test_recorded_under_the_question_it_was_shown_under(kiosk, time_):
    """A config pushed between the tap and the commit does not change what was answered."""
    tapped_at = kiosk.monotonic()
    kiosk.apply_settings(KioskSettings(rev=2, scale=3, question_id="accueil"))
    time_.advance(8)
    event = kiosk.press(4, Input.TOUCH, pressed_at=tapped_at, scale=4, question_id="overall")
    assert (event["question"], event["scale"], event["rating"]) == ("overall", 4, 4)
    assert kiosk.press(3, Input.BUTTON)["question"] == "accueil", "default: the current settings"


@pytest.mark.parametrize("rating, shown, message", [
    (5, {"scale": 4}, "rating 5 outside scale 4"),
    (4, {"scale": 3}, "rating 4 outside scale 3"),
    (0, {}, "outside scale"),
    (1, {"scale": 7}, "scale 7"),
    (1, {"question_id": "Not A Slug"}, "question id"),
])
def test_the_rating_must_fit_the_scale_it_was_shown_under(kiosk, rating, shown, message):
    with pytest.raises(ValueError, match=message):
        kiosk.press(rating, Input.TOUCH, **shown)
    assert kiosk.outbox.state().pending == 0
