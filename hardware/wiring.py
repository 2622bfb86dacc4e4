"""Draws the button box's wiring (hardware/wiring.svg) and pin table from kiosk/pinmap.toml.

The pin map is the one source of pin numbers; this script checks it against the real
Raspberry Pi 40-pin header and redraws both documents from it, so neither can drift:

    .venv/bin/python hardware/wiring.py           # rewrite wiring.svg and the README's table
    .venv/bin/python hardware/wiring.py --check   # exit 1 if stale (tests/test_hardware.py too)

Plain SVG from the standard library, byte-for-byte reproducible (no dates, no randomness).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from html import escape
from pathlib import Path

try:
    from kiosk.pinmap import Pin, PinMap, load_pinmap, rating_for_position
    from ressenti.faces import FACE_LABELS
except ModuleNotFoundError as missing:
    raise SystemExit(f"{missing}: run with the project's Python, where it is installed: "
                     ".venv/bin/python hardware/wiring.py (./dev test creates .venv)") from missing

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SVG_PATH = HERE / "wiring.svg"
README_PATH = HERE / "README.md"
START, END = "<!-- pinmap:start -->", "<!-- pinmap:end -->"

# The Raspberry Pi 40-pin header (J8), identical on every model since the B+ (Zero 2 W, 3, 4, 5):
# physical pin -> "3V3" | "5V" | "GND" | BCM GPIO number. Source: pinout.xyz and the
# Raspberry Pi documentation ("GPIO and the 40-pin header").
HEADER: dict[int, str | int] = {
    1: "3V3", 2: "5V",
    3: 2, 4: "5V",
    5: 3, 6: "GND",
    7: 4, 8: 14,
    9: "GND", 10: 15,
    11: 17, 12: 18,
    13: 27, 14: "GND",
    15: 22, 16: 23,
    17: "3V3", 18: 24,
    19: 10, 20: "GND",
    21: 9, 22: 25,
    23: 11, 24: 8,
    25: "GND", 26: 7,
    27: 0, 28: 1,
    29: 5, 30: "GND",
    31: 6, 32: 12,
    33: 13, 34: "GND",
    35: 19, 36: 16,
    37: 26, 38: 20,
    39: "GND", 40: 21,
}
BCM_TO_PHYSICAL: dict[int, int] = {bcm: pin for pin, bcm in HEADER.items() if isinstance(bcm, int)}
ALT_NAMES = {2: "SDA", 3: "SCL", 14: "TXD", 15: "RXD", 10: "MOSI", 9: "MISO", 11: "SCLK",
             8: "CE0", 7: "CE1", 0: "ID_SD", 1: "ID_SC"}

# GPIOs the button box must leave alone, and why.
RESERVED_BCM = {
    0: "HAT ID EEPROM bus (ID_SD): read by the firmware at boot",
    1: "HAT ID EEPROM bus (ID_SC): read by the firmware at boot",
    2: "I2C1 SDA: the DS3231 real-time clock",
    3: "I2C1 SCL: the DS3231 real-time clock",
}

# At reset, before the firmware runs, BCM 0-8 have their pull-up on and BCM 9-27 their
# pull-down (BCM2835/BCM2711 peripherals datasheets, "pull at reset"). An LED or buzzer
# input pulled high would light or sound through the ULN2803A while the Pi boots.
PULLED_HIGH_AT_RESET = frozenset(range(9))

# Power and ground pins this wiring uses. Any pin of the same kind works; these are chosen
# to sit next to what they feed, so the harness stays short.
RTC_VCC, RTC_SDA, RTC_SCL, RTC_GND = 1, 3, 5, 9
RAIL_5V = 2
DRIVER_GND = 6
STATUS_GND = 20
BUTTONS_GND = 39

DRIVER = "ULN2803A"
DRIVER_CHANNELS = 8
STATUS_LED_OHMS = 330


class Role(StrEnum):
    BUTTON = "button"
    LED = "led"
    STATUS = "status"
    BUZZER = "buzzer"


@dataclass(frozen=True)
class Use:
    """One GPIO the firmware drives or reads, with what it is wired to."""

    name: str
    role: Role
    pin: Pin
    slot: int | None = None
    channel: int | None = None  # driver (ULN2803A) channel, 1-based


def uses(pinmap: PinMap) -> list[Use]:
    """Every GPIO the pin map assigns, slots first; LEDs and buzzer get a driver channel."""
    found: list[Use] = []
    for slot in pinmap.slots:
        found.append(Use(f"Slot {slot.position} button", Role.BUTTON, slot.button, slot.position))
        found.append(Use(f"Slot {slot.position} LED", Role.LED, slot.led, slot.position,
                         channel=slot.position))
    found.append(Use("Status LED", Role.STATUS, pinmap.status_led))
    found.append(Use("Buzzer", Role.BUZZER, pinmap.buzzer, channel=len(pinmap.slots) + 1))
    return found


def problems(pinmap: PinMap) -> list[str]:
    """What is wrong with a pin map, in words; empty when it can be wired as drawn."""
    found: list[str] = []
    owners: dict[int, str] = {}
    for use in uses(pinmap):
        bcm, physical = use.pin.bcm, use.pin.physical
        if bcm in owners:
            found.append(f"{use.name} and {owners[bcm]} share BCM {bcm}")
        owners.setdefault(bcm, use.name)
        if bcm not in BCM_TO_PHYSICAL:
            found.append(f"{use.name}: BCM {bcm} is not on the 40-pin header")
        elif BCM_TO_PHYSICAL[bcm] != physical:
            found.append(f"{use.name}: BCM {bcm} is physical pin {BCM_TO_PHYSICAL[bcm]}, "
                         f"not {physical}")
        if bcm in RESERVED_BCM:
            found.append(f"{use.name}: BCM {bcm} is reserved for the {RESERVED_BCM[bcm]}")
        elif use.role is not Role.BUTTON and bcm in PULLED_HIGH_AT_RESET:
            found.append(f"{use.name}: BCM {bcm} is pulled high at reset, so it would be on "
                         "while the Pi boots; use BCM 9-27 for outputs")
    positions = [slot.position for slot in pinmap.slots]
    if positions != list(range(1, len(positions) + 1)):
        found.append(f"slot positions must be 1..N without gaps, got {positions}")
    if not 3 <= len(pinmap.slots) <= 5:
        found.append(f"a box has 3 to 5 slots, the pin map has {len(pinmap.slots)}")
    if len(pinmap.slots) + 1 > DRIVER_CHANNELS:
        found.append(f"{len(pinmap.slots)} LEDs and a buzzer do not fit one {DRIVER}")
    return found


def pin_name(physical: int) -> str:
    kind = HEADER[physical]
    if isinstance(kind, str):
        return kind
    return f"BCM{kind} {ALT_NAMES[kind]}" if kind in ALT_NAMES else f"BCM{kind}"


def driver_pins(channel: int) -> tuple[int, int]:
    """ULN2803A (DIP-18) input and output pins of a channel: IN1 is pin 1, OUT1 is pin 18."""
    return channel, 19 - channel


# ---------------------------------------------------------------------------------- README


def _face(scale: int, position: int) -> str:
    if position > scale:
        return "—"
    rating = rating_for_position(position, scale)
    fr, en = FACE_LABELS[scale][rating]
    return f"{rating} · {fr} ({en})"


def pin_table(pinmap: PinMap) -> str:
    """The README's generated section: pins, what they go to, and the face of each slot."""
    rows = ["| Function | BCM | Header pin | Wired to |", "|---|---|---|---|"]
    for use in uses(pinmap):
        bcm, physical = use.pin.bcm, use.pin.physical
        if use.role is Role.BUTTON:
            where = ("leftmost, best face" if use.slot == 1 else
                     "only on 4- and 5-face boxes" if use.slot == 4 else
                     "only on 5-face boxes" if use.slot == 5 else "")
            name = f"{use.name} ({where})" if where else use.name
            wired = (f"microswitch NO; its COM to the GND bus (pin {BUTTONS_GND}); "
                     "internal pull-up, pressed reads low")
        elif use.role is Role.STATUS:
            name = use.name
            wired = f"{STATUS_LED_OHMS} Ω, then the LED, then GND (pin {STATUS_GND})"
        else:
            assert use.channel is not None
            pin_in, pin_out = driver_pins(use.channel)
            part = "the button's LED (−)" if use.role is Role.LED else "the active buzzer (−)"
            name = use.name
            wired = (f"{DRIVER} IN{use.channel} (U1 pin {pin_in}); OUT{use.channel} "
                     f"(U1 pin {pin_out}) sinks {part}, whose + is on 5 V")
        rows.append(f"| {name} | {bcm} | {physical} | {wired} |")
    rows += [
        f"| DS3231 SDA (kept free) | 2 | {RTC_SDA} | RTC module SDA (I2C1, address 0x68) |",
        f"| DS3231 SCL (kept free) | 3 | {RTC_SCL} | RTC module SCL |",
        f"| 3V3 | — | {RTC_VCC} | RTC module VCC |",
        f"| 5V | — | {RAIL_5V} | 5 V rail: arcade LEDs (+), buzzer (+), {DRIVER} COM (U1 pin 10) |",
        (f"| GND | — | {RTC_GND}, {DRIVER_GND}, {STATUS_GND}, {BUTTONS_GND} | RTC GND, "
         f"{DRIVER} GND (U1 pin 9), status LED, button GND bus |"),
    ]
    scales = sorted(FACE_LABELS)
    faces = ["| Box | " + " | ".join(f"Slot {s.position}" for s in pinmap.slots) + " |",
             "|---" * (len(pinmap.slots) + 1) + "|"]
    for scale in scales:
        cells = " | ".join(_face(scale, s.position) for s in pinmap.slots)
        faces.append(f"| {scale} faces | {cells} |")
    return "\n".join([
        START,
        "<!-- Generated by hardware/wiring.py from kiosk/pinmap.toml: edit those, not this. -->",
        "",
        *rows,
        "",
        "Which face (rating) each slot records, by the box's scale:",
        "",
        *faces,
        END,
    ])


def updated_readme(readme: str, table: str) -> str:
    """The README with its generated section replaced; fails loudly if the markers are gone."""
    head, sep, rest = readme.partition(START)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"{README_PATH}: put {START} and {END} around the pin table")
    return head + table + tail


# ------------------------------------------------------------------------------------ SVG

W, H = 1500, 1130
ROW0, DY = 150, 40
ODD_X, EVEN_X = 705, 765  # pin centres: odd pins on the left column, even on the right
TAG_W = 100
LEFT_WIRE, RIGHT_WIRE = ODD_X - 40 - TAG_W, EVEN_X + 40 + TAG_W  # where wires leave the tags
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"

COLOUR = {
    Role.BUTTON: "#1f5fa8",
    Role.LED: "#1d7a3a",
    Role.STATUS: "#7b3fa0",
    Role.BUZZER: "#b85c00",
    "rtc": "#007c89",
    "5V": "#c62828",
    "3V3": "#e07b00",
    "GND": "#222222",
    "unused": "#9a9a9a",
}


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _value(value: float | str) -> str:
    return escape(value) if isinstance(value, str) else _num(value)


class Svg:
    """Just enough of an SVG writer: elements appended in order, attributes sorted."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, tag: str, text: str | None = None, **attrs: float | str) -> None:
        rendered = " ".join(f'{key.rstrip("_").replace("_", "-")}="{_value(val)}"'
                            for key, val in sorted(attrs.items()))
        if text is None:
            self.parts.append(f"<{tag} {rendered}/>")
        else:
            self.parts.append(f"<{tag} {rendered}>{escape(text)}</{tag}>")

    def line(self, x1: float, y1: float, x2: float, y2: float, colour: str,
             width: float = 2.5) -> None:
        self.add("line", x1=x1, y1=y1, x2=x2, y2=y2, stroke=colour, stroke_width=width,
                 stroke_linecap="round")

    def text(self, x: float, y: float, text: str, size: float = 14, anchor: str = "start",
             colour: str = "#111", weight: str = "normal") -> None:
        self.add("text", text, x=x, y=y, font_size=size, text_anchor=anchor, fill=colour,
                 font_weight=weight, font_family=FONT)

    def dot(self, x: float, y: float, colour: str) -> None:
        self.add("circle", cx=x, cy=y, r=4.5, fill=colour)

    def render(self) -> str:
        body = "\n".join(self.parts)
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
                f'viewBox="0 0 {W} {H}">\n{body}\n</svg>\n')


def _along(start: float, side: int, offset: float) -> float:
    """x of a point `offset` away from the header, on the side the wire leaves (-1 left)."""
    return start + side * offset


def row_y(physical: int) -> float:
    return ROW0 + (physical - 1) // 2 * DY


def _led(svg: Svg, cx: float, y: float, colour: str, pointing: int) -> None:
    """A diode with light arrows; `pointing` +1 if current flows left to right."""
    tip, base = cx + 10 * pointing, cx - 10 * pointing
    svg.add("path", d=f"M{_num(base)} {_num(y - 10)} L{_num(tip)} {_num(y)} L{_num(base)} "
                      f"{_num(y + 10)} Z", fill="white", stroke=colour, stroke_width=2.5)
    svg.line(tip, y - 11, tip, y + 11, colour)
    for dx in (-3, 5):
        x0 = cx + dx
        svg.line(x0, y - 13, x0 + 7, y - 21, colour, 1.5)
        svg.add("path", d=f"M{_num(x0 + 7)} {_num(y - 21)} l-5 1 l3 3 Z", fill=colour)


def _driver_box(svg: Svg, x: float, y: float, channel: int) -> None:
    pin_in, pin_out = driver_pins(channel)
    svg.add("rect", x=x, y=y - 15, width=104, height=30, rx=4, fill="#fff8e1", stroke="#6d4c00",
            stroke_width=1.5)
    svg.text(x + 52, y - 2, f"U1 {DRIVER}", 11, "middle", "#6d4c00", "bold")
    svg.text(x + 52, y + 11, f"IN{channel} pin {pin_in} → pin {pin_out}", 10, "middle", "#6d4c00")


def _plus5(svg: Svg, x: float, y: float) -> None:
    """A +5 V net tag centred on x."""
    svg.add("rect", x=x - 24, y=y - 11, width=48, height=22, rx=11, fill="#ffebee",
            stroke=COLOUR["5V"], stroke_width=1.5)
    svg.text(x, y + 5, "+5 V", 12, "middle", COLOUR["5V"], "bold")


def _ground(svg: Svg, x: float, y: float) -> None:
    """A ground symbol hanging from (x, y)."""
    svg.line(x, y, x, y + 10, COLOUR["GND"], 2)
    for i, half in enumerate((11, 7, 3)):
        svg.line(x - half, y + 10 + 4 * i, x + half, y + 10 + 4 * i, COLOUR["GND"], 2)


def _switch(svg: Svg, cx: float, y: float, colour: str) -> None:
    """A normally-open push button between (cx-20, y) and (cx+20, y)."""
    for x in (cx - 20, cx + 20):
        svg.add("circle", cx=x, cy=y, r=3.5, fill="white", stroke=colour, stroke_width=2)
    svg.line(cx - 24, y - 9, cx + 24, y - 9, colour)
    svg.line(cx, y - 9, cx, y - 17, colour)
    svg.line(cx - 7, y - 17, cx + 7, y - 17, colour)


def _buzzer(svg: Svg, cx: float, y: float, colour: str) -> None:
    svg.add("rect", x=cx - 14, y=y - 10, width=28, height=20, rx=3, fill="white", stroke=colour,
            stroke_width=2.5)
    svg.add("path", d=f"M{_num(cx - 8)} {_num(y + 4)} A8 8 0 0 1 {_num(cx + 8)} {_num(y + 4)}",
            fill="none", stroke=colour, stroke_width=2)
    svg.text(cx + 10, y - 13, "+", 12, "middle", colour, "bold")


def _header(svg: Svg, used: dict[int, str]) -> None:
    top, bottom = row_y(1) - 26, row_y(39) + 26
    svg.add("rect", x=ODD_X - 26, y=top, width=EVEN_X - ODD_X + 52, height=bottom - top, rx=6,
            fill="#2f3b2f", stroke="#111", stroke_width=1.5)
    svg.text((ODD_X + EVEN_X) / 2, top - 10, "J8 · 40-pin header", 13, "middle", "#111", "bold")
    for physical, kind in HEADER.items():
        x = ODD_X if physical % 2 else EVEN_X
        y = row_y(physical)
        colour = used.get(physical) or (COLOUR[kind] if isinstance(kind, str) else COLOUR["unused"])
        active = physical in used or isinstance(kind, str)
        side = -1 if physical % 2 else 1
        tag_x = x + side * 40 + (-TAG_W if side < 0 else 0)
        svg.line(x, y, x + side * 40, y, colour if active else "#cfcfcf", 2)
        svg.add("rect", x=tag_x, y=y - 12, width=TAG_W, height=24, rx=5,
                fill="white" if active else "#f2f2f2", stroke=colour, stroke_width=1.5)
        svg.text(tag_x + TAG_W / 2, y + 5, pin_name(physical), 12, "middle",
                 colour if active else "#8a8a8a", "bold" if physical in used else "normal")
        if physical == 1:  # square pad marks pin 1, as on the board
            svg.add("rect", x=x - 12, y=y - 12, width=24, height=24, fill="#d4a017", stroke="#111")
        else:
            svg.add("circle", cx=x, cy=y, r=12, fill="#d4a017", stroke="#111", stroke_width=1)
        svg.text(x, y + 4.5, str(physical), 12, "middle", "#111", "bold")


def _notes(svg: Svg, top: float, title: str, columns: list[list[str]], width: int) -> None:
    """A box across the bottom with notes in columns, each note a paragraph wrapped at `width`."""
    wrapped = [[part for note in notes for part in textwrap.wrap(note, width)] for notes in columns]
    lines = max(len(column) for column in wrapped)
    svg.add("rect", x=40, y=top, width=W - 80, height=lines * 18 + 46, rx=8, fill="#fafafa",
            stroke="#bbbbbb", stroke_width=1)
    svg.text(56, top + 25, title, 14, "start", "#111", "bold")
    column_w = (W - 80) / len(columns)
    for c, column in enumerate(wrapped):
        for i, line in enumerate(column):
            svg.text(56 + c * column_w, top + 48 + i * 18, line, 12.5, "start", "#333")


def wiring_svg(pinmap: PinMap) -> str:
    """The whole diagram, as text."""
    svg = Svg()
    svg.add("rect", x=0, y=0, width=W, height=H, fill="white")
    svg.text(40, 48, "ressenti button box · wiring", 26, "start", "#111", "bold")
    svg.text(40, 76, "Raspberry Pi 40-pin header seen from above (pin 1 square, top left). "
                     "Generated from kiosk/pinmap.toml by hardware/wiring.py: do not edit.",
             14, "start", "#444")
    used: dict[int, str] = {RTC_VCC: COLOUR["rtc"], RTC_SDA: COLOUR["rtc"],
                            RTC_SCL: COLOUR["rtc"], RTC_GND: COLOUR["GND"]}
    all_uses = uses(pinmap)
    for use in all_uses:
        used[use.pin.physical] = COLOUR[use.role]
    for physical in (RAIL_5V, DRIVER_GND, STATUS_GND, BUTTONS_GND):
        used[physical] = COLOUR[str(HEADER[physical])]
    _header(svg, used)

    # Real-time clock, left of pins 1-9.
    box_x, box_right = 360, LEFT_WIRE - 50
    svg.add("rect", x=box_x, y=row_y(1) - 20, width=box_right - box_x,
            height=row_y(9) - row_y(1) + 40, rx=6, fill="#e0f7fa", stroke=COLOUR["rtc"],
            stroke_width=2)
    svg.text(box_x + 12, row_y(1) + 8, "DS3231", 16, "start", COLOUR["rtc"], "bold")
    svg.text(box_x + 12, row_y(3) + 8, "RTC module", 12, "start", COLOUR["rtc"])
    svg.text(box_x + 12, row_y(5) + 8, "I²C 0x68", 12, "start", COLOUR["rtc"])
    svg.text(box_x + 12, row_y(7) + 8, "CR2032 cell", 12, "start", COLOUR["rtc"])
    for physical, label in ((RTC_VCC, "VCC"), (RTC_SDA, "SDA"), (RTC_SCL, "SCL"), (RTC_GND, "GND")):
        y = row_y(physical)
        svg.text(box_right - 8, y + 4.5, label, 12, "end", COLOUR["rtc"], "bold")
        svg.line(box_right, y, LEFT_WIRE, y, used[physical])
    svg.text(40, row_y(3) + 5, "Real-time clock", 14, "start", "#111", "bold")
    svg.text(40, row_y(5) + 5, "(recommended: keeps the", 12.5, "start", "#444")
    svg.text(40, row_y(7) + 5, "date through power cuts)", 12.5, "start", "#444")

    # Power rail and driver ground, right of pins 2 and 6.
    y = row_y(RAIL_5V)
    svg.line(RIGHT_WIRE, y, 1180, y, COLOUR["5V"])
    _plus5(svg, 1204, y)
    svg.text(1240, y + 5, "5 V rail: arcade LEDs +,", 12.5, "start", "#444")
    svg.text(1240, y + 22, "buzzer +, U1 COM (pin 10)", 12.5, "start", "#444")
    y = row_y(DRIVER_GND)
    svg.line(RIGHT_WIRE, y, 1204, y, COLOUR["GND"])
    _ground(svg, 1204, y)
    svg.text(1240, y + 5, "U1 GND (pin 9)", 12.5, "start", "#444")

    button_bus = 300
    button_rows = [row_y(u.pin.physical) for u in all_uses if u.role is Role.BUTTON]
    gnd_y = row_y(BUTTONS_GND)
    for use in all_uses:
        colour = COLOUR[use.role]
        y = row_y(use.pin.physical)
        left = use.pin.physical % 2 == 1
        side = -1 if left else 1
        at = partial(_along, LEFT_WIRE if left else RIGHT_WIRE, side)
        label_x = 40 if left else 1300
        if use.role is Role.BUTTON:
            svg.line(at(0), y, at(80), y, colour)
            _switch(svg, at(100), y, colour)
            svg.line(at(120), y, button_bus if left else at(260), y, colour)
            svg.dot(button_bus if left else at(260), y, COLOUR["GND"])
            where = " (best face)" if use.slot == 1 else ""
            svg.text(label_x, y + 5, f"{use.name}{where}", 13.5, "start", colour, "bold")
        elif use.role is Role.STATUS:
            svg.line(at(0), y, at(30), y, colour)
            svg.add("rect", x=min(at(30), at(80)), y=y - 8, width=50, height=16, fill="white",
                    stroke=colour, stroke_width=2.5)
            svg.text(at(55), y - 13, f"{STATUS_LED_OHMS} Ω", 11.5, "middle", colour)
            svg.line(at(80), y, at(120), y, colour)
            _led(svg, at(130), y, colour, side)
            svg.line(at(140), y, at(230), y, colour)
            gy = row_y(STATUS_GND)
            svg.line(at(230), y, at(230), gy, COLOUR["GND"])
            svg.dot(at(230), gy, COLOUR["GND"])
            svg.text(label_x if left else at(250), y + 5, "Status LED (5 mm)", 13.5, "start",
                     colour, "bold")
        else:
            assert use.channel is not None
            svg.line(at(0), y, at(20), y, colour)
            _driver_box(svg, min(at(20), at(124)), y, use.channel)
            svg.line(at(124), y, at(180), y, colour)
            if use.role is Role.LED:
                _led(svg, at(190), y, colour, -side)
                text = f"{use.name} (in the button)"
            else:
                _buzzer(svg, at(194), y, colour)
                text = "Buzzer (active, 5 V)"
            svg.line(at(208), y, at(246), y, colour)
            _plus5(svg, at(270), y)
            if left:
                svg.text(label_x, y + 5, text, 13.5, "start", colour, "bold")
            else:
                svg.text(at(310), y + 5, text, 13.5, "start", colour, "bold")

    # Ground for the status LED, and the button GND bus down to pin 39.
    gy = row_y(STATUS_GND)
    svg.line(RIGHT_WIRE, gy, RIGHT_WIRE + 230, gy, COLOUR["GND"])
    if button_rows:
        svg.line(button_bus, min(button_rows), button_bus, gnd_y, COLOUR["GND"], 3)
        svg.line(button_bus, gnd_y, LEFT_WIRE, gnd_y, COLOUR["GND"])
        svg.dot(button_bus, gnd_y, COLOUR["GND"])
        svg.text(40, gnd_y + 5, "GND bus (button COM)", 13.5, "start", "#111", "bold")

    _uln_inset(svg, all_uses)
    _notes(svg, row_y(39) + 50, "How it is wired", [[
        ("• Buttons: microswitch NO to the GPIO, COM to the GND bus. No resistor: the firmware "
         "turns the Pi's internal pull-up on (pull_up=True), so a press reads low."),
        ("• Arcade LEDs: buy 5 V ones (resistor built in, 10-20 mA each). A GPIO gives only "
         "3.3 V and should not source that much, so U1 sinks each LED's − to ground."),
        ("• Status LED: a plain 5 mm LED straight from its GPIO through "
         f"{STATUS_LED_OHMS} Ω (about 4 mA)."),
    ], [
        "• Buzzer: active 5 V type (about 30 mA), switched by U1; U1's COM diodes clamp it.",
        "• Pins 3 and 5 (I²C1) stay free for the DS3231; pins 27 and 28 for HAT ID EEPROMs.",
        ("• A box built for N faces uses slots 1..N, left to right as the citizen faces it; "
         "slot 1 is the best face. Unused slots stay unwired."),
    ]], 92)
    return svg.render()


def _uln_inset(svg: Svg, all_uses: list[Use]) -> None:
    """U1's pinout with what each pin goes to."""
    by_channel = {u.channel: u for u in all_uses if u.channel is not None}
    chip_x, top, pitch = 1190, row_y(26) + 14, 26
    svg.text(chip_x + 30, top - 14, f"U1 · {DRIVER} (DIP-18), seen from above", 13.5, "middle",
             "#6d4c00", "bold")
    svg.add("rect", x=chip_x, y=top, width=60, height=pitch * 9 + 6, rx=4, fill="#333",
            stroke="#111")
    svg.add("path", d=f"M{chip_x + 22} {top} A8 8 0 0 0 {chip_x + 38} {top}", fill="#777")
    for i in range(9):
        y = top + 16 + i * pitch
        left_pin, right_pin = i + 1, 18 - i
        svg.line(chip_x - 10, y, chip_x, y, "#555", 3)
        svg.line(chip_x + 60, y, chip_x + 70, y, "#555", 3)
        svg.text(chip_x + 8, y + 4, str(left_pin), 10.5, "start", "white")
        svg.text(chip_x + 52, y + 4, str(right_pin), 10.5, "end", "white")
        if left_pin <= DRIVER_CHANNELS:
            use = by_channel.get(left_pin)
            left_text = (f"BCM{use.pin.bcm} ({use.name}) → IN{left_pin}" if use
                         else f"not connected · IN{left_pin}")
            colour = COLOUR[use.role] if use else COLOUR["unused"]
            # The output on the same row (pin 19 - n) is the same channel n.
            right_text = (f"OUT{left_pin} → {use.name} −" if use
                          else f"OUT{left_pin} · not connected")
            right_colour = colour
        else:
            left_text, colour = "GND → GND (pin 6)", COLOUR["GND"]
            right_text, right_colour = "COM → +5 V (flyback diodes)", COLOUR["5V"]
        svg.text(chip_x - 14, y + 4.5, left_text, 12, "end", colour)
        svg.text(chip_x + 74, y + 4.5, right_text, 12, "start", right_colour)


# ------------------------------------------------------------------------------------ CLI


def outputs(pinmap: PinMap) -> dict[Path, str]:
    """Every generated file with the text it should have now."""
    readme = README_PATH.read_text(encoding="utf-8")
    return {SVG_PATH: wiring_svg(pinmap), README_PATH: updated_readme(readme, pin_table(pinmap))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if a generated file is stale")
    args = parser.parse_args(argv)
    pinmap = load_pinmap()
    found = problems(pinmap)
    if found:
        print("kiosk/pinmap.toml cannot be wired:\n  " + "\n  ".join(found), file=sys.stderr)
        return 1
    stale = []
    for path, text in outputs(pinmap).items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not args.check:
            path.write_text(text, encoding="utf-8")
    if args.check and stale:
        print(f"stale: {', '.join(map(str, stale))}; run .venv/bin/python hardware/wiring.py",
              file=sys.stderr)
        return 1
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
