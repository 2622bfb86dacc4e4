"""Colours, sizes and the accessibility arithmetic of the touch screens (no Kivy here).

Everything is laid out for the official Raspberry Pi 7" display (800x480) and
scaled by `unit()` on other windows, so a 1920x1080 screen shows the same
layout, larger. Text colours meet WCAG 2.1 AA (4.5:1) and aim at AAA (7:1);
tests/test_touch_theme.py checks every pair listed in TEXT_PAIRS.
"""

from __future__ import annotations

BASE_SIZE = (800, 480)

# Official Raspberry Pi 7" Touch Display: 800x480 on an active area of
# 154.08 x 85.92 mm, so a pixel is not square: 5.19 px/mm across, 5.59 down.
PANEL_PX_PER_MM = (800 / 154.08, 480 / 85.92)
MIN_TARGET_MM = 15.0  # smallest touch target the issue allows
MIN_TARGET_PX = 84  # 15 mm on that panel in both directions (84 px = 16.2 x 15.0 mm)

# -- colours (sRGB hex) -------------------------------------------------------
PAGE = "#F4F2ED"  # warm off-white: less glare than pure white under office lights
INK = "#111418"  # body text, face outlines
NAVY = "#0B3D91"  # primary buttons, thank-you background
WHITE = "#FFFFFF"
TILE = WHITE  # face tiles and choice buttons
TILE_BORDER = "#5A6270"
PRESSED = "#D9E4F7"  # a tile while the finger is on it
FAULT_INK = "#8A1111"
MUTED_INK = "#3D4550"  # secondary text (English under French, hints)

# Face fills by mouth curve (-1 worst .. +1 best). Colour only adds to the
# shape (mouth, eyes) and the written label, never replaces them.
FACE_FILLS = {
    1.0: "#8ED08F",
    0.5: "#C4E38A",
    0.0: "#F4D96B",
    -0.5: "#F6B073",
    -1.0: "#F08F84",
}

# (text colour, background) of every piece of text the citizen or technician sees.
TEXT_PAIRS: dict[str, tuple[str, str]] = {
    "question": (INK, PAGE),
    "face label": (INK, TILE),
    "face label pressed": (INK, PRESSED),
    "language button": (WHITE, NAVY),
    "secondary text": (MUTED_INK, PAGE),
    "choice": (INK, TILE),
    "skip button": (NAVY, WHITE),
    "thank-you": (WHITE, NAVY),
    "fault": (FAULT_INK, PAGE),
    "technician": (INK, PAGE),
}

# Non-text shapes that carry meaning need 3:1 (WCAG 1.4.11).
GRAPHIC_PAIRS: dict[str, tuple[str, str]] = {
    **{f"face outline on fill {curve:+.1f}": (INK, fill) for curve, fill in FACE_FILLS.items()},
    "tile border": (TILE_BORDER, PAGE),
}

# -- text sizes in px at 800x480 ------------------------------------------------
FONT_PX = {
    "question": 38,
    "face label": 28,
    "button": 28,
    "choice": 30,
    "thanks": 96,
    "thanks second": 40,
    "body": 28,
    "technician": 22,
}


def unit(window_size: tuple[float, float]) -> float:
    """How much larger than 800x480 this window is (the smaller of both ratios)."""
    width, height = window_size
    return min(width / BASE_SIZE[0], height / BASE_SIZE[1])


def font_px(role: str, window_size: tuple[float, float]) -> float:
    return FONT_PX[role] * unit(window_size)


def face_fill(curve: float) -> str:
    """The fill of the face whose mouth curve is nearest `curve`."""
    return FACE_FILLS[min(FACE_FILLS, key=lambda known: abs(known - curve))]


def rgba(hex_colour: str, alpha: float = 1.0) -> tuple[float, float, float, float]:
    """'#RRGGBB' -> Kivy's (r, g, b, a) in 0..1."""
    value = hex_colour.lstrip("#")
    if len(value) != 6:
        raise ValueError(f"colour {hex_colour!r} is not #RRGGBB")
    r, g, b = (int(value[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


def relative_luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
    r, g, b, _ = rgba(hex_colour)
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio, 1..21."""
    lighter, darker = sorted((relative_luminance(foreground), relative_luminance(background)),
                             reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def px_to_mm(width_px: float, height_px: float) -> tuple[float, float]:
    """A size in px at 800x480 as millimetres on the official 7" panel."""
    return width_px / PANEL_PX_PER_MM[0], height_px / PANEL_PX_PER_MM[1]


def cap_height_mm(font_size_px: float) -> float:
    """Approximate capital height on the 7" panel (Roboto's caps are ~0.71 em)."""
    return 0.71 * font_size_px / PANEL_PX_PER_MM[1]
