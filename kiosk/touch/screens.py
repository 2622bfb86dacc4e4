"""The touch screens, as layouts only: the controller decides what they show and when.

Each `show(...)` lays its screen out for a window size, so the same code lays
out the 7" 800x480 panel and a 1920x1080 monitor, and skips the work when
nothing changed since last time (building widgets and text textures is most
of a frame on a Pi). Sizes are px at 800x480 times `theme.unit(size)`; every
touch target is at least 84 px (15 mm on the 7" panel) there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kivy.graphics import Color, Line, Rectangle
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk.touch import theme
from kiosk.touch.followup import Followup
from kiosk.touch.texts import LANGUAGE_NAMES, both, text
from kiosk.touch.widgets import FaceDrawing, FaceTile, PlainButton, Text
from ressenti.faces import mouth_curve
from ressenti.i18n import direction

Size = tuple[float, float]
MARGIN, GAP, TOP_BAR, SIDE_BUTTON = 16, 12, 104, 172  # px at 800x480


class Page(FloatLayout):
    """A screen with a flat background colour."""

    background = theme.PAGE

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.name = name
        self._shown: object = None
        with self.canvas.before:
            self._colour = Color(*theme.rgba(self.background))
            self._rect = Rectangle()
        self.bind(pos=self._fill, size=self._fill)

    def _fill(self, *_: Any) -> None:
        self._rect.pos, self._rect.size = self.pos, self.size

    def _unchanged(self, *what: object) -> bool:
        """True if the screen already shows `what`; otherwise remember it (and rebuild)."""
        if what == self._shown:
            return True
        self._shown = what
        return False

    def _page(self, u: float, orientation: str = "vertical") -> BoxLayout:
        self.clear_widgets()
        page = BoxLayout(orientation=orientation, padding=MARGIN * u, spacing=GAP * u)
        self.add_widget(page)
        return page


class Pages(FloatLayout):
    """Shows one page at a time and switches at once.

    Not a ScreenManager: its transitions, even NoTransition, ignore touches
    until the next frame, which dropped taps right after the thank-you.
    """

    current = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pages: dict[str, Page] = {}

    def add_page(self, page: Page) -> None:
        self._pages[page.name] = page

    @property
    def current_screen(self) -> Page:
        return self._pages[self.current]

    def on_current(self, _instance: Any, name: str) -> None:
        self.clear_widgets()
        self.add_widget(self._pages[name])


def _top_bar(u: float, title: str, size: Size, button: PlainButton | None,
             lang: str = "fr") -> BoxLayout:
    """The title at the reading start, the button at its end: mirrored for right-to-left."""
    bar = BoxLayout(size_hint=(1, None), height=TOP_BAR * u, spacing=GAP * u)
    widgets: list[Widget] = [Text(title, font_px=theme.font_px("question", size), bold=True,
                                  halign="left")]
    if button is not None:
        button.size_hint = (None, 1)
        button.width = SIDE_BUTTON * u
        widgets.append(button)
    for widget in reversed(widgets) if direction(lang) == "rtl" else widgets:
        bar.add_widget(widget)
    return bar


class QuestionScreen(Page):
    """The question and 3, 4 or 5 faces, best on the left; a language button if several."""

    language_button: PlainButton | None = None
    tiles: list[FaceTile]

    def show(self, size: Size, *, question: str, scale: int, lang: str, next_lang: str | None,
             on_rate: Callable[[int], None], on_language: Callable[[], None]) -> None:
        if self._unchanged(size, question, scale, lang, next_lang):
            for tile in self.tiles:
                tile.highlighted = False
            return
        u = theme.unit(size)
        page = self._page(u)
        self.language_button = None
        if next_lang:
            self.language_button = PlainButton(
                LANGUAGE_NAMES[next_lang], font_px=theme.font_px("button", size),
                fill=theme.NAVY, ink=theme.WHITE, border=theme.NAVY)
            self.language_button.bind(on_release=lambda *_: on_language())
        page.add_widget(_top_bar(u, question, size, self.language_button, lang))
        row = BoxLayout(spacing=GAP * u)
        self.tiles = []
        for position in range(1, scale + 1):
            tile = FaceTile(scale, scale + 1 - position, lang,
                            font_px=theme.font_px("face label", size))
            tile.bind(on_release=lambda t: on_rate(int(t.rating)))
            self.tiles.append(tile)
            row.add_widget(tile)
        page.add_widget(row)


def _keep_pressed(button: PlainButton, action: Callable[..., None], *args: Any) -> None:
    """The chosen button stays pressed-looking until the thank-you replaces the screen."""
    button.highlighted = True
    action(*args)


class FollowupScreen(Page):
    """One question with 3-6 large choices and a skip button; no free text."""

    skip_button: PlainButton
    choice_buttons: list[PlainButton]

    def show(self, size: Size, *, followup: Followup, lang: str,
             on_choice: Callable[[str], None], on_skip: Callable[[], None]) -> None:
        if self._unchanged(size, followup, lang):
            for button in (*self.choice_buttons, self.skip_button):
                button.highlighted = False
            return
        u = theme.unit(size)
        page = self._page(u)
        self.skip_button = PlainButton(text("skip", lang), font_px=theme.font_px("button", size),
                                       fill=theme.WHITE, ink=theme.NAVY, border=theme.NAVY)
        self.skip_button.bind(on_release=lambda b: _keep_pressed(b, on_skip))
        page.add_widget(_top_bar(u, followup.question_text(lang), size, self.skip_button, lang))
        count = len(followup.choices)
        grid = GridLayout(cols=2 if count == 4 else 3, spacing=GAP * u,
                          orientation="rl-tb" if direction(lang) == "rtl" else "lr-tb")
        self.choice_buttons: list[PlainButton] = []
        for choice in followup.choices:
            button = PlainButton(choice.label(lang), font_px=theme.font_px("choice", size),
                                 bold=True, padding=(10 * u, 6 * u))
            button.bind(on_release=lambda b, cid=choice.id: _keep_pressed(b, on_choice, cid))
            self.choice_buttons.append(button)
            grid.add_widget(button)
        page.add_widget(grid)


class Tick(Widget):
    """A large check mark: the thank-you is understood without reading."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(pos=self._draw, size=self._draw)

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        s = min(self.width, self.height)
        x, y = self.center_x - s / 2, self.center_y - s / 2
        with self.canvas:
            Color(*theme.rgba(theme.WHITE))
            Line(points=[x + 0.2 * s, y + 0.5 * s, x + 0.42 * s, y + 0.25 * s,
                         x + 0.82 * s, y + 0.78 * s],
                 width=max(3.0, s * 0.07), cap="round", joint="round")


class ThanksScreen(Page):
    background = theme.NAVY

    def show(self, size: Size, *, lang: str) -> None:
        if self._unchanged(size, lang):
            return
        u = theme.unit(size)
        page = self._page(u)
        first, second = both("thanks", lang)
        page.add_widget(Tick(size_hint=(1, 0.4)))
        page.add_widget(Text(first, font_px=theme.font_px("thanks", size), colour=theme.WHITE,
                             bold=True, size_hint=(1, 0.35)))
        page.add_widget(Text(second, font_px=theme.font_px("thanks second", size),
                             colour=theme.WHITE, size_hint=(1, 0.25)))


class FaultScreen(Page):
    """The press was not saved: say so, French first, English second; never "merci"."""

    def show(self, size: Size) -> None:
        if self._unchanged(size):
            return
        page = self._page(theme.unit(size))
        for message in both("fault", "fr"):
            page.add_widget(Text(message, font_px=theme.font_px("body", size) * 1.15,
                                 colour=theme.FAULT_INK, bold=True))


class IdleScreen(Page):
    """After inactivity: an invitation; a touch anywhere brings the question back."""

    def show(self, size: Size, *, question: str, scale: int, on_wake: Callable[[], None]) -> None:
        self._on_wake = on_wake
        if self._unchanged(size, question, scale):
            return
        u = theme.unit(size)
        page = self._page(u)
        title_fr, title_en = both("idle title")
        hint_fr, hint_en = both("idle hint")
        page.add_widget(Text(title_fr, font_px=theme.font_px("question", size) * 1.2, bold=True,
                             size_hint=(1, 0.2)))
        page.add_widget(Text(title_en, font_px=theme.font_px("body", size), colour=theme.MUTED_INK,
                             size_hint=(1, 0.12)))
        faces = BoxLayout(spacing=GAP * 2 * u, size_hint=(1, 0.36), padding=(80 * u, 0))
        for rating in range(scale, 0, -1):
            faces.add_widget(FaceDrawing(mouth_curve(scale, rating)))
        page.add_widget(faces)
        page.add_widget(Text(question, font_px=theme.font_px("body", size), size_hint=(1, 0.14)))
        page.add_widget(Text(f"{hint_fr}\n{hint_en}", font_px=theme.font_px("body", size) * 0.9,
                             colour=theme.MUTED_INK, size_hint=(1, 0.18)))

    def on_touch_down(self, touch: Any) -> bool:
        if self.parent is not None and self.collide_point(*touch.pos):
            self._on_wake()
            return True
        return super().on_touch_down(touch)


class PinScreen(Page):
    """A keypad for the technician's PIN; digits shown as dots."""

    def show(self, size: Size, *, entered: int, message: str,
             on_key: Callable[[str], None], on_cancel: Callable[[], None]) -> None:
        u = theme.unit(size)
        page = self._page(u, orientation="horizontal")
        left = BoxLayout(orientation="vertical", spacing=GAP * u)
        title_fr, title_en = both("pin title")
        left.add_widget(Text(f"{title_fr}\n{title_en}", font_px=theme.font_px("body", size),
                             bold=True))
        left.add_widget(Text(" ".join("•" * entered) or "–",
                             font_px=theme.font_px("question", size) * 1.5))
        self.message = Text(message, font_px=theme.font_px("body", size), colour=theme.FAULT_INK)
        left.add_widget(self.message)
        cancel = PlainButton(" / ".join(both("cancel")), font_px=theme.font_px("button", size),
                             size_hint=(1, None), height=96 * u)
        cancel.bind(on_release=lambda *_: on_cancel())
        left.add_widget(cancel)
        page.add_widget(left)
        keypad = GridLayout(cols=3, spacing=10 * u)
        self.keys: dict[str, PlainButton] = {}
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "erase", "0", "ok"):
            label = text(key, "fr") if key in ("erase", "ok") else key
            digit_size = 1.3 if len(label) == 1 else 1.0
            button = PlainButton(label, font_px=theme.font_px("button", size) * digit_size)
            button.bind(on_release=lambda _b, k=key: on_key(k))
            self.keys[key] = button
            keypad.add_widget(button)
        page.add_widget(keypad)


class TechScreen(Page):
    """What a technician needs at the kiosk: identity, link, queue, clock, version."""

    def show(self, size: Size, *, rows: Sequence[tuple[str, str]],
             on_close: Callable[[], None]) -> None:
        u = theme.unit(size)
        page = self._page(u)
        close = PlainButton(" / ".join(both("close")), font_px=theme.font_px("button", size))
        close.bind(on_release=lambda *_: on_close())
        page.add_widget(_top_bar(u, "Technicien / Technician", size, close))
        table = GridLayout(cols=2, spacing=(GAP * u, 2 * u))
        self.values: dict[str, Text] = {}
        font = theme.font_px("technician", size)
        for name, value in rows:
            table.add_widget(Text(name, font_px=font, bold=True, halign="left",
                                  size_hint=(0.38, 1)))
            self.values[name] = Text(value, font_px=font, halign="left", size_hint=(0.62, 1))
            table.add_widget(self.values[name])
        page.add_widget(table)

    def update(self, rows: Sequence[tuple[str, str]]) -> None:
        for name, value in rows:
            if name in self.values:
                self.values[name].show_text(value)
