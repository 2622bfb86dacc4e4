"""The Kivy touch screens driven in-process (under Xvfb): taps and keys end up in the outbox.

Each test builds a real Kiosk on a real outbox in tmp_path and steps Kivy's
event loop itself (kiosk.touch.testing), like Kivy's own GraphicUnitTest.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kiosk.clock import ClockState
from kiosk.core import Kiosk
from kiosk.outbox import Outbox, OutboxError
from kiosk.touch import testing, theme
from kiosk.touch.shoot import SAMPLE_FOLLOWUP
from ressenti.faces import label
from ressenti.protocol import Clock, Input, KioskSettings, format_ts

WHY: dict[str, Any] = {**SAMPLE_FOLLOWUP, "timeout_s": 3}
SIX_LONG_CHOICES: dict[str, Any] = {
    **WHY, "choices": [{"id": f"c{i}", "fr": "Information peu claire sur les démarches",
                        "en": "Unclear information about the procedure"} for i in range(6)],
}


@pytest.fixture(scope="module")
def window() -> Iterator[Any]:
    if not os.environ.get("DISPLAY"):
        pytest.fail("no DISPLAY: run the touch tests under Xvfb, as ./dev test does "
                    "(xvfb-run -a -s '-screen 0 1920x1080x24' pytest ...)")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in testing.TEST_ENVIRONMENT.items():
            mp.setenv(key, value)
        from kiosk.touch import env

        env.prepare(fullscreen=False, size=(800, 480))
        yield testing.open_window((800, 480))


class GatedOutbox(Outbox):
    """An outbox whose commits wait for `gate`: a slow SD card under the tester's control."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = threading.Event()
        self.gate.set()

    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        assert self.gate.wait(10), "test never opened the gate"
        return super().append(fields)


class FullDiskOutbox(Outbox):
    def append(self, fields: dict[str, Any]) -> dict[str, Any]:
        raise OutboxError("database or disk is full")


@pytest.fixture
def make_touch(tmp_path, window) -> Iterator[Callable[..., Any]]:
    from kiosk.touch.controller import TouchController, TouchOptions

    made: list[Any] = []

    def factory(*, scale: int = 4, followup: dict[str, Any] | None = None,
                outbox_class: type[Outbox] = Outbox, languages: tuple[str, ...] = ("fr", "en"),
                size: tuple[int, int] = (800, 480), clocks: dict[str, Any] | None = None,
                **options: Any) -> Any:
        window.size = size
        outbox = outbox_class(tmp_path / f"outbox-{len(made)}.db")
        kiosk = Kiosk("borne-1", "mairie", outbox, clock=ClockState(Clock.NTP),
                      settings=KioskSettings(rev=1, scale=scale, followup=followup,
                                             languages=languages), **(clocks or {}))
        timings = {"thanks_s": 0.3, "fault_s": 0.3, "idle_after_s": 600, "gesture_s": 0.3,
                   "tech_pin": "2580"}
        controller = TouchController(kiosk, options=TouchOptions(**{**timings, **options}))
        window.add_widget(controller.root)
        controller.history = []  # every screen shown, in order (wait_screen consumes it)
        controller.screens.bind(current=lambda _sm, name, seen=controller.history: seen.append(name))
        testing.pump()
        made.append(controller)
        return controller

    yield factory
    for controller in made:
        window.remove_widget(controller.root)
        controller.close()
        controller.kiosk.outbox.close()
    window.size = (800, 480)


def events(controller: Any) -> list[dict[str, Any]]:
    return controller.kiosk.outbox.batch()


def texts(widget: Any) -> list[str]:
    from kiosk.touch.widgets import visible_texts

    return [t["text"] for t in visible_texts(widget)]


def wait_screen(controller: Any, name: str, timeout: float = 5.0) -> None:
    """Wait until `name` was shown (it may be gone already: thank-you lasts 0.3 s here)."""
    testing.pump(lambda: name in controller.history, timeout=timeout, what=f"the {name} screen")
    del controller.history[:controller.history.index(name) + 1]


def back_to_question(controller: Any) -> None:
    wait_screen(controller, "question")


# -- what is on screen ---------------------------------------------------------------


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize("scale", [3, 4, 5])
def test_faces_best_on_the_left_with_their_labels(make_touch, scale, lang):
    touch = make_touch(scale=scale)
    if lang == "en":
        testing.tap(touch.question.language_button)
    tiles = touch.question.tiles
    assert [t.rating for t in tiles] == list(range(scale, 0, -1))
    assert [t.text for t in tiles] == [label(scale, r, lang) for r in range(scale, 0, -1)]
    on_screen = texts(touch.question)
    question = {"fr": "Comment s'est passé votre accueil ?", "en": "How was your visit?"}[lang]
    assert question in on_screen
    for rating in range(1, scale + 1):
        assert label(scale, rating, lang) in on_screen
    assert ("English" if lang == "fr" else "Français") in on_screen


def test_faces_differ_by_shape_not_only_colour(make_touch):
    touch = make_touch(scale=5)
    curves = [tile.face.curve for tile in touch.question.tiles]
    assert curves == sorted(curves, reverse=True) and len(set(curves)) == 5


def all_targets(touch: Any) -> dict[str, Any]:
    targets = {f"face {t.rating}": t for t in touch.question.tiles}
    targets["language"] = touch.question.language_button
    return targets


@pytest.mark.parametrize("scale", [3, 4, 5])
def test_touch_targets_are_at_least_15_mm_on_the_7_inch_panel(make_touch, scale):
    touch = make_touch(scale=scale, followup=SIX_LONG_CHOICES)
    targets = all_targets(touch)
    touch.rate(1)
    wait_screen(touch, "followup")
    targets.update({f"choice {i}": b for i, b in enumerate(touch.followup_screen.choice_buttons)})
    targets["skip"] = touch.followup_screen.skip_button
    touch.answer_followup(None)
    back_to_question(touch)
    touch.open_pin()
    testing.pump()
    targets.update({f"PIN key {k}": b for k, b in touch.pin.keys.items()})
    for name, widget in targets.items():
        width_mm, height_mm = theme.px_to_mm(widget.width, widget.height)
        assert min(widget.width, widget.height) >= theme.MIN_TARGET_PX, (name, widget.size)
        assert min(width_mm, height_mm) >= theme.MIN_TARGET_MM, (name, width_mm, height_mm)


def test_six_long_choices_fit_their_buttons(make_touch):
    from kiosk.touch.widgets import visible_texts

    touch = make_touch(followup=SIX_LONG_CHOICES)
    for lang in ("fr", "en"):
        if lang == "en":
            testing.tap(touch.question.language_button)
        touch.rate(1)
        wait_screen(touch, "followup")
        found = visible_texts(touch.followup_screen)
        assert len(found) == 6 + 2 and all(t["fits"] for t in found), found
        touch.answer_followup(None)
        back_to_question(touch)


# -- taps and keys make events ---------------------------------------------------------


def test_thank_you_only_after_the_commit_and_the_ui_keeps_drawing(make_touch):
    touch = make_touch(outbox_class=GatedOutbox)
    touch.kiosk.outbox.gate.clear()  # the SD card is slow today
    testing.tap(touch.question.tiles[0])
    testing.pump(frames=20)  # ~1/3 s of frames: the UI thread is not stuck on the disk
    assert touch.screen == "question" and "thanks" not in touch.history, \
        "no thank-you before the event is on disk"
    assert events(touch) == []
    touch.kiosk.outbox.gate.set()
    wait_screen(touch, "thanks")
    (event,) = events(touch)
    assert (event["rating"], event["scale"], event["input"], event["lang"]) == (4, 4, "touch", "fr")
    assert event["followup"] is None
    assert texts(touch.thanks) == ["Merci\u00a0!", "Thank you!"]
    back_to_question(touch)


def test_lifting_the_finger_draws_no_frame_before_the_thank_you(make_touch, window):
    """The pressed look stays on release, so the next frame drawn is the thank-you."""
    touch = make_touch(outbox_class=GatedOutbox)
    touch.kiosk.outbox.gate.clear()
    tile = touch.question.tiles[2]
    finger = testing.touch_at(*tile.to_window(*tile.center))
    testing.pump(frames=5)  # the pressed face is drawn while the finger is down
    flips: list[str] = []

    def record(*_: Any) -> None:
        flips.append(touch.screen)

    window.bind(on_flip=record)
    try:
        finger.touch_up()
        testing.pump(frames=10)
        assert flips == [], "a frame was drawn between the release and the commit"
        touch.kiosk.outbox.gate.set()
        testing.pump(lambda: flips, what="the next frame")
        assert flips[0] == "thanks"
    finally:
        window.unbind(on_flip=record)


def test_every_face_records_its_rating(make_touch):
    touch = make_touch(scale=5)
    for position in range(5):
        testing.tap(touch.question.tiles[position])
        wait_screen(touch, "thanks")
        back_to_question(touch)
    assert [e["rating"] for e in events(touch)] == [5, 4, 3, 2, 1]


def test_keys_rate_without_the_touchscreen(make_touch):
    """Keys 1..N are the faces from the left (as on the button box); keypad keys too."""
    touch = make_touch(scale=4)
    for key in (ord("1"), ord("4"), 257, 260, ord("2")):
        testing.press_key(key)
        wait_screen(touch, "thanks")
        back_to_question(touch)
    testing.press_key(ord("5"))  # no fifth face on a 4-face scale
    testing.press_key(ord("0"))
    testing.pump(frames=5)
    assert touch.screen == "question"
    assert [e["rating"] for e in events(touch)] == [4, 1, 4, 1, 3]


def test_taps_during_a_commit_are_not_counted_twice(make_touch):
    touch = make_touch(outbox_class=GatedOutbox)
    touch.kiosk.outbox.gate.clear()
    for tile in touch.question.tiles:
        testing.tap(tile)
    testing.press_key(ord("2"))
    touch.kiosk.outbox.gate.set()
    wait_screen(touch, "thanks")
    testing.pump(frames=5)
    assert [e["rating"] for e in events(touch)] == [4]


def test_english_is_recorded_and_the_next_visitor_starts_in_french(make_touch):
    touch = make_touch()
    testing.tap(touch.question.language_button)
    assert touch.lang == "en"
    testing.tap(touch.question.tiles[1])
    wait_screen(touch, "thanks")
    assert texts(touch.thanks)[0] == "Thank you!"
    back_to_question(touch)
    assert touch.lang == "fr" and "Très bien" in texts(touch.question)
    assert events(touch)[0]["lang"] == "en"


def test_sound_switched_on_without_a_sound_device_still_thanks(make_touch):
    touch = make_touch(sound=True)  # Xvfb has no audio device: the chime is skipped
    testing.tap(touch.question.tiles[0])
    wait_screen(touch, "thanks")
    assert len(events(touch)) == 1


def test_one_language_means_no_language_button(make_touch):
    touch = make_touch(languages=("fr",))
    assert touch.question.language_button is None
    assert "English" not in texts(touch.question)


# -- follow-up -------------------------------------------------------------------------


def test_followup_answer_is_on_the_same_event(make_touch):
    touch = make_touch(followup=WHY)
    testing.tap(touch.question.tiles[-1])  # worst face: rating 1
    wait_screen(touch, "followup")
    assert events(touch) == [], "nothing is committed before the follow-up is answered"
    on_screen = texts(touch.followup_screen)
    assert "Qu'est-ce qui n'a pas été ?" in on_screen and "Passer" in on_screen
    assert {"Temps d'attente", "Information peu claire", "Accueil", "Autre"} <= set(on_screen)
    testing.tap(touch.followup_screen.choice_buttons[1])
    wait_screen(touch, "thanks")
    (event,) = events(touch)
    assert event["rating"] == 1
    assert event["followup"] == {"question": "why", "choice": "unclear"}


def test_followup_in_english_and_by_key(make_touch):
    touch = make_touch(followup=WHY)
    testing.tap(touch.question.language_button)
    testing.press_key(ord("3"))  # third face from the left on 4 faces: rating 2
    wait_screen(touch, "followup")
    assert {"What went wrong?", "Skip", "Waiting time"} <= set(texts(touch.followup_screen))
    testing.press_key(ord("4"))  # fourth choice: "other"
    wait_screen(touch, "thanks")
    (event,) = events(touch)
    assert (event["rating"], event["lang"]) == (2, "en")
    assert event["followup"] == {"question": "why", "choice": "other"}


def test_followup_answered_10_s_later_is_stamped_at_the_tap(make_touch):
    """The event's time and flags are the tap's, not the commit's (issue 4)."""
    mono = [7000.0]
    start = datetime(2026, 11, 22, 9, 14, 3, 120000, tzinfo=UTC)
    touch = make_touch(followup={**WHY, "timeout_s": 60}, clocks={
        "monotonic": lambda: mono[0],
        "wall": lambda: start + timedelta(seconds=mono[0] - 7000.0)})
    touch.kiosk.press(4, Input.BUTTON)  # a button press 3 s before the tap
    mono[0] += 3
    testing.tap(touch.question.tiles[-1])
    wait_screen(touch, "followup")
    mono[0] += 10  # the citizen reads and chooses
    testing.tap(touch.followup_screen.choice_buttons[0])
    wait_screen(touch, "thanks")
    _, event = events(touch)
    assert event["ts"] == format_ts(start + timedelta(seconds=3))
    assert event["flags"] == ["rapid_repeat"], "3 s after the button press, not 13 s"
    assert event["followup"] == {"question": "why", "choice": "wait"}


@pytest.mark.parametrize("how", ["skip button", "escape key", "timeout"])
def test_skipped_followup_still_records_the_rating_once(make_touch, how):
    touch = make_touch(followup=WHY)
    testing.tap(touch.question.tiles[-1])
    wait_screen(touch, "followup")
    if how == "skip button":
        testing.tap(touch.followup_screen.skip_button)
    elif how == "escape key":
        testing.press_key(27)
    wait_screen(touch, "thanks", timeout=WHY["timeout_s"] + 3)
    back_to_question(touch)
    (event,) = events(touch)
    assert event["rating"] == 1 and event["followup"] is None


def test_good_ratings_skip_the_followup(make_touch):
    touch = make_touch(followup=WHY)
    testing.tap(touch.question.tiles[1])  # rating 3
    wait_screen(touch, "thanks")
    assert events(touch)[0]["followup"] is None


# -- faults, idle, live config -----------------------------------------------------------


def test_full_disk_shows_a_fault_and_never_thanks(make_touch):
    touch = make_touch(outbox_class=FullDiskOutbox)
    testing.tap(touch.question.tiles[0])
    seen = list(touch.history)
    wait_screen(touch, "fault")
    on_screen = texts(touch.fault)
    assert on_screen[0].startswith("Votre avis n'a pas pu être enregistré")
    assert on_screen[1].startswith("Your answer could not be saved")
    back_to_question(touch)
    testing.pump(frames=10)
    assert "thanks" not in seen + touch.history


def test_idle_screen_after_inactivity_then_back(make_touch):
    touch = make_touch(idle_after_s=0.4)
    testing.tap(touch.question.language_button)
    wait_screen(touch, "idle")
    assert touch.lang == "fr", "the next visitor starts in French"
    assert "Votre avis nous intéresse" in texts(touch.idle)
    touch.options = replace(touch.options, idle_after_s=600)  # not idle again while we look
    testing.tap(touch.idle)
    assert touch.screen == "question"
    assert events(touch) == [], "waking the screen is not a rating"
    testing.press_key(ord("1"))  # a keypad rates straight from the idle screen too
    wait_screen(touch, "thanks")


def test_pushed_config_is_applied_live(make_touch, caplog):
    touch = make_touch(scale=4)
    pushed = KioskSettings(rev=2, scale=3, question={"fr": "Êtes-vous satisfait ?",
                                                     "en": "Are you satisfied?"},
                           followup={**WHY, "id": "Not A Slug"})
    with caplog.at_level(logging.ERROR):
        # The link applies pushed settings on paho's network thread.
        thread = threading.Thread(target=touch.kiosk.apply_settings, args=(pushed,))
        thread.start()
        thread.join(5)
        testing.pump(lambda: len(touch.question.tiles) == 3, what="3 faces")
    assert "Êtes-vous satisfait ?" in texts(touch.question)
    assert "ignoring the follow-up question" in caplog.text, "a bad follow-up is logged"
    testing.tap(touch.question.tiles[-1])
    wait_screen(touch, "thanks")  # no follow-up: the bad one was dropped
    assert (events(touch)[0]["scale"], events(touch)[0]["rating"]) == (3, 1)


def test_config_pushed_during_the_followup_keeps_what_the_citizen_answered(make_touch):
    """Rating 2 of 4 on "overall" stays so, though 3 faces on "accueil" are shown next."""
    touch = make_touch(scale=4, followup=WHY)
    testing.tap(touch.question.tiles[2])  # rating 2 of 4
    wait_screen(touch, "followup")
    touch.kiosk.apply_settings(KioskSettings(rev=2, scale=3, question_id="accueil"))
    testing.pump(frames=2)
    testing.tap(touch.followup_screen.choice_buttons[0])
    wait_screen(touch, "thanks")
    back_to_question(touch)
    (event,) = events(touch)
    assert (event["question"], event["scale"], event["rating"]) == ("overall", 4, 2)
    assert event["followup"] == {"question": "why", "choice": "wait"}
    assert len(touch.question.tiles) == 3, "the next citizen sees the new question"


# -- technician ----------------------------------------------------------------------------


def hold_corner(touch: Any) -> None:
    finger = testing.touch_at(5, touch.root.top - 5)
    testing.pump_for(touch.options.gesture_s + 0.2)
    finger.touch_up()
    testing.pump(frames=2)


def enter_pin(touch: Any, pin: str) -> None:
    for digit in pin:
        testing.tap(touch.pin.keys[digit])
    testing.tap(touch.pin.keys["ok"])


def test_technician_screen_behind_gesture_and_pin(make_touch):
    touch = make_touch(tech_pin="4321")
    testing.tap(touch.question.tiles[0])
    wait_screen(touch, "thanks")
    back_to_question(touch)
    testing.tap(touch.corner)  # a short touch does nothing
    assert touch.screen == "question"
    hold_corner(touch)
    assert touch.screen == "pin"
    enter_pin(touch, "1234")
    assert touch.screen == "pin" and "Code incorrect" in touch.pin.message.text
    enter_pin(touch, "4321")
    assert touch.screen == "tech"
    testing.pump(lambda: touch.tech.values["Version"].text != "…", what="status rows")
    values = {name: widget.text for name, widget in touch.tech.values.items()}
    assert values["Borne / Kiosk"] == "borne-1" and values["Site"] == "mairie"
    assert values["File / Queue"].startswith("1 en attente / pending")
    assert values["Liaison / Link"] == "aucune / none"
    assert values["Horloge / Clock"].startswith("ntp")
    assert values["Version"] and values["Config"].startswith("rev 1, 4 visages")
    testing.press_key(27)
    assert touch.screen == "question"


def test_pin_keyboard_and_lockout(make_touch):
    touch = make_touch(tech_pin="2580")
    for _ in range(3):
        hold_corner(touch)
        for key in (ord("1"), ord("1"), ord("1"), ord("1"), 13):
            testing.press_key(key)
    assert touch.screen == "question" and touch.pin_gate.locked
    hold_corner(touch)
    assert touch.screen == "question", "locked for a while after three wrong codes"


def test_without_a_pin_the_technician_screen_stays_off(make_touch):
    """No readable PIN file (kiosk/touch/options.py): citizens rate, the corner opens nothing."""
    touch = make_touch(tech_pin=None)
    hold_corner(touch)
    assert touch.screen == "question"
    testing.tap(touch.question.tiles[0])
    wait_screen(touch, "thanks")
