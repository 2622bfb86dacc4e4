"""The touch screens' building blocks: faces drawn as shapes, plain high-contrast buttons, text.

Faces are canvas drawings (outline, eyes, mouth from `ressenti.faces.mouth_curve`)
so their meaning is in the shape and the written label, with colour as an
extra. Widgets are told their font size in px; the screens compute it from the
window (`theme.font_px`), so 800x480 and 1920x1080 show the same layout.
"""

from __future__ import annotations

import math
from typing import Any

from kivy.clock import Clock
from kivy.graphics import Color, Ellipse, Line, RoundedRectangle
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.widget import Widget

from kiosk.touch import theme
from kiosk.touch.script import font_for, shaped
from ressenti.faces import label as face_label
from ressenti.faces import mouth_curve


class Text(Label):
    """A label that wraps inside its box, centred, in the theme's ink.

    `source_text` is the text as written; `text` what Kivy draws (Arabic shaped,
    kiosk/touch/script.py)."""

    source_text = StringProperty("")

    def __init__(self, text: str = "", *, font_px: float, colour: str = theme.INK,
                 bold: bool = False, halign: str = "center", **kwargs: Any) -> None:
        font = font_for(text, bold)
        if font:
            kwargs.setdefault("font_name", font)
            halign = "right" if halign == "left" else halign
        super().__init__(text=shaped(text), font_size=font_px, color=theme.rgba(colour), bold=bold,
                         halign=halign, valign="middle", **kwargs)
        self.source_text = text
        self.bind(size=self._wrap)

    def show_text(self, text: str) -> None:
        """Change the text later (the technician screen's values)."""
        self.source_text, self.text = text, shaped(text)

    def _wrap(self, *_: Any) -> None:
        self.text_size = self.size


class Pressable(ButtonBehavior):
    """Pressed look while the finger is down, kept after release while `highlighted`.

    The look is applied once per frame (a -1 Clock trigger): on release the
    state goes 'normal' and the controller sets `highlighted` in the same tick,
    so nothing changes on screen and no frame is spent before the thank-you.
    """

    highlighted = BooleanProperty(False)

    def _watch_look(self) -> None:
        self._look: tuple[bool, float] | None = None
        self._look_trigger = Clock.create_trigger(lambda _dt: self._apply_look(), -1)
        self.bind(state=self._look_trigger, highlighted=self._look_trigger,
                  size=self._look_trigger)

    def _apply_look(self) -> None:
        on = self.state == "down" or self.highlighted
        look = (on, float(self.width))
        if look != self._look:
            self._look = look
            self.show_pressed(on)

    def show_pressed(self, on: bool) -> None:
        raise NotImplementedError


class PlainButton(Pressable, Text):
    """A flat rounded button: one colour, one border, text of high contrast."""

    def __init__(self, text: str, *, font_px: float, fill: str = theme.TILE, ink: str = theme.INK,
                 border: str = theme.NAVY, **kwargs: Any) -> None:
        super().__init__(text=text, font_px=font_px, colour=ink, **kwargs)
        self._fill, self._border = fill, border
        with self.canvas.before:
            self._fill_colour = Color(*theme.rgba(fill))
            self._box = RoundedRectangle(radius=[12])
            self._border_colour = Color(*theme.rgba(border))
            self._outline = Line(width=2)
        self.bind(pos=self._redraw, size=self._redraw)
        self._watch_look()

    def _redraw(self, *_: Any) -> None:
        self._box.pos, self._box.size = self.pos, self.size
        radius = min(12.0, self.height / 4)
        self._box.radius = [radius]
        self._outline.rounded_rectangle = (*self.pos, *self.size, radius)
        self._outline.width = max(1.5, self.height / 40)

    def show_pressed(self, on: bool) -> None:
        pressed = on and self._fill == theme.TILE
        self._fill_colour.rgba = theme.rgba(theme.PRESSED if pressed else self._fill)


class FaceDrawing(Widget):
    """A smiley whose mouth follows `curve` (-1 frown .. +1 smile); eyes change at the ends."""

    curve = NumericProperty(0.0)

    def __init__(self, curve: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.curve = curve
        self.bind(pos=self._draw, size=self._draw, curve=self._draw)

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        r = min(self.width, self.height) / 2 * 0.94
        if r <= 0:
            return
        cx, cy = self.center
        stroke = max(2.0, r * 0.07)
        with self.canvas:
            Color(*theme.rgba(theme.face_fill(self.curve)))
            Ellipse(pos=(cx - r, cy - r), size=(2 * r, 2 * r))
            Color(*theme.rgba(theme.INK))
            Line(circle=(cx, cy, r), width=stroke)
            self._eyes(cx, cy, r, stroke)
            Line(points=self._mouth(cx, cy, r), width=stroke * 1.1, cap="round", joint="round")

    def _eyes(self, cx: float, cy: float, r: float, stroke: float) -> None:
        for side in (-1, 1):
            ex, ey = cx + side * 0.36 * r, cy + 0.28 * r
            if self.curve >= 0.99:
                # Laughing eyes: two arcs bent upwards.
                Line(points=self._arc(ex, ey - 0.05 * r, 0.14 * r, 0.1 * r), width=stroke,
                     cap="round")
            else:
                Ellipse(pos=(ex - 0.08 * r, ey - 0.12 * r), size=(0.16 * r, 0.24 * r))
            if self.curve <= -0.99:
                # Sad brows: inner ends raised.
                Line(points=[ex - side * 0.05 * r, ey + 0.3 * r, ex + side * 0.2 * r, ey + 0.2 * r],
                     width=stroke * 0.9, cap="round")

    @staticmethod
    def _arc(x: float, y: float, half_width: float, rise: float) -> list[float]:
        points: list[float] = []
        for i in range(9):
            t = -1 + i / 4
            points += [x + t * half_width, y + rise * math.cos(t * math.pi / 2)]
        return points

    def _mouth(self, cx: float, cy: float, r: float) -> list[float]:
        """A parabola from corner to corner; the corners rise by `curve` (a smile) or fall."""
        points: list[float] = []
        for i in range(17):
            t = i / 16 * 2 - 1  # -1 .. 1 along the mouth
            points += [cx + t * 0.48 * r, cy - 0.38 * r + self.curve * 0.3 * r * (t * t - 0.5)]
        return points


class FaceTile(Pressable, BoxLayout):
    """One face and its written label: the whole tile is the touch target."""

    rating = NumericProperty(0)
    text = StringProperty("")

    def __init__(self, scale: int, rating: int, lang: str, *, font_px: float,
                 **kwargs: Any) -> None:
        super().__init__(orientation="vertical", padding=font_px * 0.35, spacing=font_px * 0.2,
                         **kwargs)
        self.rating = rating
        self.text = face_label(scale, rating, lang)
        self.face = FaceDrawing(mouth_curve(scale, rating), size_hint=(1, 0.64))
        self.caption = Text(self.text, font_px=font_px, bold=True, size_hint=(1, 0.36))
        self.add_widget(self.face)
        self.add_widget(self.caption)
        with self.canvas.before:
            self._fill_colour = Color(*theme.rgba(theme.TILE))
            self._box = RoundedRectangle(radius=[14])
            self._border_colour = Color(*theme.rgba(theme.TILE_BORDER))
            self._outline = Line(width=2)
        self.bind(pos=self._redraw, size=self._redraw)
        self._watch_look()

    def _redraw(self, *_: Any) -> None:
        self._box.pos, self._box.size = self.pos, self.size
        self._outline.rounded_rectangle = (*self.pos, *self.size, 14)

    def show_pressed(self, on: bool) -> None:
        self._fill_colour.rgba = theme.rgba(theme.PRESSED if on else theme.TILE)
        self._border_colour.rgba = theme.rgba(theme.NAVY if on else theme.TILE_BORDER)
        self._outline.width = max(2.0, self.width / (18 if on else 60))


def text_fits(label: Label) -> bool:
    """Whether all of `label`'s text shows in its box: no line cut off, no word split."""
    from kivy.core.text import Label as CoreLabel

    core = CoreLabel(text=label.text, font_size=label.font_size, bold=label.bold,
                     text_size=(label.width, None), halign=label.halign, font_name=label.font_name)
    core.refresh()
    widest_word = max(core.get_extents(word)[0] for word in label.text.split())
    return core.texture.height <= label.height + 1 and widest_word <= label.width + 1


def visible_texts(root: Widget) -> list[dict[str, Any]]:
    """Every non-empty label under `root`, and whether it fits its box (for tests and shoot)."""
    return [
        {"text": getattr(widget, "source_text", "") or widget.text, "fits": text_fits(widget),
         "box": [round(widget.width), round(widget.height)]}
        for widget in root.walk(restrict=True)
        if isinstance(widget, Label) and widget.text.strip() and widget.opacity > 0
    ]
