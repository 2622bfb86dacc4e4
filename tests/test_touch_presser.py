"""The commit worker of the touch front-end, without Kivy: order, failures, changed questions."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.outbox import Outbox, OutboxError
from kiosk.touch.presser import Outcome, Presser, Result, Tap
from ressenti.protocol import Clock, Input, KioskSettings, decode_event, utc_now


class UiThread:
    """Stands in for Kivy's Clock: records which thread ran the posted work."""

    def __init__(self) -> None:
        self.results: list[Result] = []
        self.threads: set[str] = set()
        self.done = threading.Event()

    def post(self, work: Callable[[], None]) -> None:
        self.threads.add(threading.current_thread().name)
        work()

    def collect(self, result: Result) -> None:
        self.results.append(result)
        self.done.set()


@pytest.fixture
def kiosk(tmp_path):
    outbox = Outbox(tmp_path / "outbox.db")
    yield Kiosk("borne-1", "mairie", outbox, settings=KioskSettings(scale=4),
                clock=ClockState(Clock.NTP))
    outbox.close()


def test_presses_commit_in_order_off_the_calling_thread(kiosk):
    ui = UiThread()
    presser = Presser(kiosk, ui.post)
    ratings = [4, 1, 3, 2] * 5
    for rating in ratings:
        presser.submit(Tap(rating, 4, "overall", "fr"), ui.collect)
    presser.close()
    assert [r.outcome for r in ui.results] == [Outcome.SAVED] * len(ratings)
    assert [r.event["rating"] for r in ui.results] == ratings
    assert [e["rating"] for e in kiosk.outbox.batch()] == ratings
    assert ui.threads and threading.current_thread().name not in ui.threads


def test_followup_and_language_reach_the_event(kiosk):
    ui = UiThread()
    presser = Presser(kiosk, ui.post)
    presser.submit(Tap(1, 4, "overall", "en", Input.TOUCH, {"question": "why", "choice": "wait"}),
                   ui.collect)
    presser.close()
    (event,) = kiosk.outbox.batch()
    assert event["followup"] == {"question": "why", "choice": "wait"}
    assert (event["lang"], event["input"], event["rating"]) == ("en", "touch", 1)


def test_a_failed_commit_is_reported_not_thanked(kiosk, mocker):
    mocker.patch.object(kiosk.outbox, "append", side_effect=OutboxError("disk full"))
    ui = UiThread()
    presser = Presser(kiosk, ui.post)
    presser.submit(Tap(3, 4, "overall", "fr"), ui.collect)
    presser.close()
    (result,) = ui.results
    assert result.outcome is Outcome.FAILED and "disk full" in (result.error or "")


def test_a_tap_is_recorded_under_the_question_it_was_shown_under(kiosk):
    """Rating 2 of 5 stays "2 of 5" when a config push made it 4 faces before the commit."""
    ui = UiThread()
    presser = Presser(kiosk, ui.post)
    presser.submit(Tap(2, 5, "overall", "fr"), ui.collect)
    presser.submit(Tap(2, 4, "old-question", "fr"), ui.collect)
    presser.submit(Tap(5, 4, "overall", "fr"), ui.collect)  # not a face of what was shown
    presser.close()
    assert [r.outcome for r in ui.results] == [Outcome.SAVED, Outcome.SAVED, Outcome.FAILED]
    assert [(e["question"], e["scale"], e["rating"]) for e in kiosk.outbox.batch()] == [
        ("overall", 5, 2), ("old-question", 4, 2)]


def test_the_event_is_stamped_at_the_tap(kiosk):
    ui = UiThread()
    presser = Presser(kiosk, ui.post)
    tapped_at = kiosk.monotonic() - 10  # the follow-up took 10 s
    presser.submit(Tap(1, 4, "overall", "fr", pressed_at=tapped_at), ui.collect)
    presser.close()
    (result,) = ui.results
    moment = decode_event(result.event).ts
    assert 9.5 < (utc_now() - moment).total_seconds() < 11
