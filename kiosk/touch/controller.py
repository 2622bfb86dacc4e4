"""The touch kiosk's flow: question -> (follow-up) -> commit off the UI thread -> thank-you.

Everything here runs on Kivy's UI thread. Disk work goes through `Presser`
(one worker thread); results, and settings pushed by the link (paho's
thread), come back through `Clock`. A rating and its follow-up answer are one
event, committed once the citizen chose, skipped or let the follow-up time out.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from kivy.clock import Clock
from kivy.uix.floatlayout import FloatLayout

from kiosk.core import Kiosk
from kiosk.touch import theme
from kiosk.touch.followup import Followup, followup_or_none
from kiosk.touch.options import TouchOptions
from kiosk.touch.presser import Outcome, Presser, Result, Tap
from kiosk.touch.screens import (
    FaultScreen,
    FollowupScreen,
    IdleScreen,
    Pages,
    PinScreen,
    QuestionScreen,
    TechScreen,
    ThanksScreen,
)
from kiosk.touch.sound import ConfirmSound
from kiosk.touch.tech import ROWS as TECH_ROWS
from kiosk.touch.tech import CornerGesture, PinGate, status_rows
from kiosk.touch.texts import text, usable_languages
from ressenti.i18n import question_text
from ressenti.protocol import Input, KioskSettings

if TYPE_CHECKING:
    from kivy.clock import ClockEvent

    from kiosk.link import Link

log = logging.getLogger(__name__)

KEY_ESCAPE, KEY_BACKSPACE, KEY_ENTER, KEY_NUMPAD_ENTER = 27, 8, 13, 271


class Screen(StrEnum):
    QUESTION = "question"
    FOLLOWUP = "followup"
    THANKS = "thanks"
    FAULT = "fault"
    IDLE = "idle"
    PIN = "pin"
    TECH = "tech"


def post_to_ui(work: Callable[[], None]) -> None:
    """Run `work` on Kivy's UI thread, before the next frame (safe from any thread)."""
    Clock.schedule_once(lambda _dt: work(), 0)


def key_digit(key: int) -> int | None:
    """0-9 from the top row or the keypad (a USB keypad or switch interface), else None."""
    if 48 <= key <= 57:
        return key - 48
    if 256 <= key <= 265:
        return key - 256
    return None


class TouchController:
    def __init__(self, kiosk: Kiosk, *, link: Link | None = None,
                 options: TouchOptions | None = None,
                 post: Callable[[Callable[[], None]], None] = post_to_ui) -> None:
        from kivy.core.window import Window  # creates the window: env.prepare() ran before

        self.window = Window
        self.kiosk = kiosk
        self.link = link
        self.options = options or TouchOptions()
        self.post = post
        self.presser = Presser(kiosk, post)
        # No PIN (no readable PIN file): the technician screen stays off (kiosk/touch/options.py).
        self.pin_gate = PinGate(self.options.tech_pin) if self.options.tech_pin else None
        self.sound = ConfirmSound() if self.options.sound else None
        self.settings = kiosk.settings
        self.followup: Followup | None = followup_or_none(self.settings.followup,
                                                          self.settings.scale)
        self.languages = usable_languages(self.settings.languages)
        self.lang = self.languages[0]
        self.last_result: Result | None = None
        self._pending: Tap | None = None  # a rating waiting for its follow-up answer
        self._committing = False
        self._pin = ""
        self._timers: dict[str, ClockEvent] = {}
        self._redraw: Callable[[], None] = lambda: None

        self.screens = Pages()
        self.question = QuestionScreen(Screen.QUESTION)
        self.followup_screen = FollowupScreen(Screen.FOLLOWUP)
        self.thanks = ThanksScreen(Screen.THANKS)
        self.fault = FaultScreen(Screen.FAULT)
        self.idle = IdleScreen(Screen.IDLE)
        self.pin = PinScreen(Screen.PIN)
        self.tech = TechScreen(Screen.TECH)
        for screen in (self.question, self.followup_screen, self.thanks, self.fault, self.idle,
                       self.pin, self.tech):
            self.screens.add_page(screen)
        self.corner = CornerGesture(self.open_pin, self.options.gesture_s, size_hint=(None, None))
        self.root = FloatLayout()
        self.root.add_widget(self.screens)
        self.root.add_widget(self.corner)
        self.root.bind(on_touch_down=lambda *_: self._activity(), size=self._on_resize)
        self.window.bind(on_key_down=self._on_key)
        kiosk.on_settings(lambda settings: self.post(lambda: self.apply_settings(settings)))
        self.show_question()

    # -- timers and screens --------------------------------------------------------

    @property
    def screen(self) -> str:
        return str(self.screens.current)

    @property
    def size(self) -> tuple[float, float]:
        return (float(self.root.width), float(self.root.height)) if self.root.parent else \
            (float(self.window.width), float(self.window.height))

    def _later(self, name: str, seconds: float, work: Callable[[], None]) -> None:
        self._cancel(name)
        self._timers[name] = Clock.schedule_once(lambda _dt: work(), seconds)

    def _cancel(self, *names: str) -> None:
        for name in names:
            event = self._timers.pop(name, None)
            if event is not None:
                event.cancel()

    def _go(self, screen: Screen, draw: Callable[[], None]) -> None:
        self._redraw = draw
        draw()
        self.screens.current = screen

    def _on_resize(self, *_: Any) -> None:
        side = theme.MIN_TARGET_PX * 1.2 * theme.unit(self.size)
        self.corner.size = (side, side)
        self.corner.pos = (0, self.root.top - side)
        self._redraw()

    def _activity(self) -> None:
        if self.screen == Screen.QUESTION:
            self._later("idle", self.options.idle_after_s, self.show_idle)

    # -- the citizen's path -----------------------------------------------------------

    def show_question(self) -> None:
        self._cancel("back", "followup", "tech-refresh", "tech-timeout", "pin-timeout")
        self._pending = None
        next_lang = self._next_language()
        self._go(Screen.QUESTION, lambda: self.question.show(
            self.size, question=self._question(),
            scale=self.settings.scale, lang=self.lang, next_lang=next_lang,
            on_rate=self.rate, on_language=self.switch_language))
        self._later("idle", self.options.idle_after_s, self.show_idle)

    def _question(self) -> str:
        """The site's own question, or the default one from the catalogues in the site's wording."""
        return question_text(self.settings.question, self.lang, self.settings.wording)

    def _next_language(self) -> str | None:
        if len(self.languages) < 2:
            return None
        return self.languages[(self.languages.index(self.lang) + 1) % len(self.languages)]

    def switch_language(self) -> None:
        self.lang = self._next_language() or self.lang
        self.show_question()

    def show_idle(self) -> None:
        if self.screen != Screen.QUESTION or self._committing:
            return
        self.lang = self.languages[0]  # the next visitor starts in French
        self._draw_idle()

    def _draw_idle(self) -> None:
        self._go(Screen.IDLE, lambda: self.idle.show(
            self.size, question=self._question(),
            scale=self.settings.scale, on_wake=self.show_question))

    def rate(self, rating: int, source: Input = Input.TOUCH) -> None:
        """A face was chosen (tap or key): commit, or ask the follow-up first."""
        if self.screen not in (Screen.QUESTION, Screen.IDLE) or self._committing or self._pending:
            return
        self._cancel("idle")
        tap = Tap(rating, self.settings.scale, self.settings.question_id, self.lang, source,
                  pressed_at=self.kiosk.monotonic())
        for tile in getattr(self.question, "tiles", []):
            tile.highlighted = tile.rating == rating
        if self.followup is not None and self.followup.applies_to(rating):
            self._ask_followup(tap, self.followup)
        else:
            self._commit(tap)

    def _ask_followup(self, tap: Tap, followup: Followup) -> None:
        self._pending = tap
        self._go(Screen.FOLLOWUP, lambda: self.followup_screen.show(
            self.size, followup=followup, lang=tap.lang,
            on_choice=lambda cid: self.answer_followup(followup.answer(cid)),
            on_skip=lambda: self.answer_followup(None)))
        self._later("followup", followup.timeout_s, lambda: self.answer_followup(None))

    def answer_followup(self, answer: dict[str, str] | None) -> None:
        """A choice, the skip button or the timeout: the rating is committed with it, once."""
        tap, self._pending = self._pending, None
        if tap is None or self._committing:
            return
        self._cancel("followup")
        self._commit(replace(tap, followup=answer))

    def _commit(self, tap: Tap) -> None:
        self._committing = True
        self.presser.submit(tap, self._committed)

    def _committed(self, result: Result) -> None:
        self._committing = False
        self.last_result = result
        if result.outcome is Outcome.SAVED:
            self.show_thanks(result.tap.lang)  # the event is on disk: now, and only now
        else:
            self.show_fault()

    def show_thanks(self, lang: str) -> None:
        self._go(Screen.THANKS, lambda: self.thanks.show(self.size, lang=lang))
        if self.sound:
            self.sound.play()
        self._later("back", self.options.thanks_s, self._back_to_start)

    def show_fault(self) -> None:
        self._go(Screen.FAULT, lambda: self.fault.show(self.size))
        self._later("back", self.options.fault_s, self._back_to_start)

    def _back_to_start(self) -> None:
        self.lang = self.languages[0]
        self.show_question()

    # -- live config ----------------------------------------------------------------------

    def apply_settings(self, settings: KioskSettings) -> None:
        """Settings pushed by the collector (already persisted by the core): redraw live."""
        self.settings = settings
        self.followup = followup_or_none(settings.followup, settings.scale)
        self.languages = usable_languages(settings.languages)
        if self.lang not in self.languages:
            self.lang = self.languages[0]
        log.info("touch screen shows config rev %d (%d faces, follow-up %s)", settings.rev,
                 settings.scale, self.followup.id if self.followup else "none")
        if self.screen == Screen.QUESTION:
            self.show_question()
        elif self.screen == Screen.IDLE:
            self._draw_idle()

    # -- keys: a USB keypad or switch interface rates without the touchscreen --------------

    def _on_key(self, _window: Any, key: int, _scancode: int, _codepoint: str | None,
                _modifiers: list[str]) -> bool:
        digit = key_digit(key)
        screen = self.screen
        if screen in (Screen.QUESTION, Screen.IDLE):
            if digit is not None and 1 <= digit <= self.settings.scale:
                # Key N is the N-th face from the left, as on the button box.
                self.rate(self.settings.scale + 1 - digit, Input.TOUCH)
                return True
        elif screen == Screen.FOLLOWUP and self.followup is not None:
            choices = self.followup.choices
            if digit is not None and 1 <= digit <= len(choices):
                self.answer_followup(self.followup.answer(choices[digit - 1].id))
                return True
            if digit == 0 or key in (KEY_ESCAPE, KEY_BACKSPACE):
                self.answer_followup(None)
                return True
        elif screen == Screen.PIN:
            keys = {KEY_ENTER: "ok", KEY_NUMPAD_ENTER: "ok", KEY_BACKSPACE: "erase"}
            if digit is not None or key in keys:
                self.pin_key(str(digit) if digit is not None else keys[key])
                return True
            if key == KEY_ESCAPE:
                self.show_question()
                return True
        elif screen == Screen.TECH and key == KEY_ESCAPE:
            self.show_question()
            return True
        return key == KEY_ESCAPE  # never let Escape reach Kivy's default handling

    # -- technician -----------------------------------------------------------------------

    def open_pin(self) -> None:
        if self.screen not in (Screen.QUESTION, Screen.IDLE) or self._committing:
            return
        if self.pin_gate is None or self.pin_gate.locked:
            return
        self._cancel("idle")
        self._pin = ""
        self._show_pin("")
        self._later("pin-timeout", 30, self.show_question)

    def _show_pin(self, message: str) -> None:
        self._go(Screen.PIN, lambda: self.pin.show(
            self.size, entered=len(self._pin), message=message,
            on_key=self.pin_key, on_cancel=self.show_question))

    def pin_key(self, key: str) -> None:
        if self.screen != Screen.PIN or self.pin_gate is None:
            return
        self._later("pin-timeout", 30, self.show_question)
        if key == "erase":
            self._pin = self._pin[:-1]
        elif key == "ok":
            entered, self._pin = self._pin, ""
            if self.pin_gate.check(entered):
                self.open_tech()
                return
            if self.pin_gate.locked:
                log.warning("technician PIN: too many wrong codes; gesture locked for a while")
                self.show_question()
                return
            self._show_pin(" / ".join((text("pin wrong", "fr"), text("pin wrong", "en"))))
            return
        elif len(self._pin) < 8:
            self._pin += key
        self._show_pin("")

    def open_tech(self) -> None:
        self._cancel("pin-timeout")
        rows = [(name, "…") for name in TECH_ROWS]
        self._go(Screen.TECH, lambda: self.tech.show(self.size, rows=rows,
                                                     on_close=self.show_question))
        self.refresh_tech()
        self._later("tech-timeout", self.options.tech_timeout_s, self.show_question)

    def refresh_tech(self) -> None:
        if self.screen != Screen.TECH:
            return
        self.presser.run(lambda: status_rows(self.kiosk, self.link), self._tech_rows)
        self._later("tech-refresh", 1.0, self.refresh_tech)

    def _tech_rows(self, rows: list[tuple[str, str]]) -> None:
        if self.screen == Screen.TECH:
            self.tech.update(rows)

    # -- shutdown -------------------------------------------------------------------------

    def close(self) -> None:
        """Stop timers and keys; wait for commits already started (before the outbox closes)."""
        self._cancel(*list(self._timers))
        self.window.unbind(on_key_down=self._on_key)
        self.presser.close()

