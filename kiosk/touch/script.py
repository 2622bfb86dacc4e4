"""Arabic on the touch screen: Kivy's SDL2 text provider neither joins Arabic letters nor orders
right-to-left text, so a text with Arabic letters is shaped here before Kivy draws it.

`arabic_reshaper` turns each letter into its joined presentation form and
`python-bidi` puts the line in visual order (docs/languages.md). Each line is
reordered on its own, so a text the screen must wrap over several lines should
hold its own line breaks; the kiosk's Arabic texts are short enough for one
line on the 800x480 panel. Roboto, Kivy's font, has no Arabic: DejaVu Sans has.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = {False: FONT_DIR / "DejaVuSans.ttf", True: FONT_DIR / "DejaVuSans-Bold.ttf"}


def needs_shaping(text: str) -> bool:
    return bool(_ARABIC.search(text))


@cache
def shaped(text: str) -> str:
    """`text` as Kivy must draw it: joined letters, right-to-left order, line by line."""
    if not needs_shaping(text):
        return text
    import arabic_reshaper
    from bidi import get_display

    return "\n".join(get_display(arabic_reshaper.reshape(line)) for line in text.split("\n"))


def font_for(text: str, bold: bool) -> str | None:
    """A font with Arabic glyphs for a text that needs one, else None (Kivy's Roboto)."""
    if needs_shaping(text) and FONTS[bold].exists():
        return str(FONTS[bold])
    return None
