"""hardware/: the pin map against the real 40-pin header, and generated docs that cannot drift."""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from xml.etree import ElementTree

import pytest

from kiosk.pinmap import load_pinmap

ROOT = Path(__file__).resolve().parent.parent
HARDWARE = ROOT / "hardware"


def _load_wiring() -> ModuleType:
    # hardware/ is a folder of tools, not a package: load the generator from its path.
    spec = importlib.util.spec_from_file_location("hardware_wiring", HARDWARE / "wiring.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


wiring = _load_wiring()

# The Raspberry Pi 40-pin header, written out again here from pinout.xyz so the generator's
# table is checked against a second copy rather than against itself.
EXPECTED_BCM_TO_PHYSICAL = {
    2: 3, 3: 5, 4: 7, 17: 11, 27: 13, 22: 15, 10: 19, 9: 21, 11: 23, 0: 27, 5: 29, 6: 31,
    13: 33, 19: 35, 26: 37, 14: 8, 15: 10, 18: 12, 23: 16, 24: 18, 25: 22, 8: 24, 7: 26,
    1: 28, 12: 32, 16: 36, 20: 38, 21: 40,
}
EXPECTED_POWER = {"GND": {6, 9, 14, 20, 25, 30, 34, 39}, "3V3": {1, 17}, "5V": {2, 4}}


# ------------------------------------------------------------------------- pin map


def test_header_table_is_the_real_raspberry_pi_header() -> None:
    assert sorted(wiring.HEADER) == list(range(1, 41))
    assert wiring.BCM_TO_PHYSICAL == EXPECTED_BCM_TO_PHYSICAL
    for kind, pins in EXPECTED_POWER.items():
        assert {p for p, k in wiring.HEADER.items() if k == kind} == pins, kind
    assert sorted(wiring.BCM_TO_PHYSICAL) == list(range(28)), "GPIO 0..27, each once"


def test_the_pin_map_can_be_wired() -> None:
    assert wiring.problems(load_pinmap()) == []


def test_no_two_functions_share_a_pin() -> None:
    uses = wiring.uses(load_pinmap())
    bcm = Counter(u.pin.bcm for u in uses)
    physical = Counter(u.pin.physical for u in uses)
    assert [n for n, count in bcm.items() if count > 1] == []
    assert [n for n, count in physical.items() if count > 1] == []


def test_physical_pins_match_bcm_numbers_on_the_header() -> None:
    for use in wiring.uses(load_pinmap()):
        assert EXPECTED_BCM_TO_PHYSICAL[use.pin.bcm] == use.pin.physical, use.name


def test_i2c_stays_free_for_the_rtc() -> None:
    uses = wiring.uses(load_pinmap())
    assert not {2, 3} & {u.pin.bcm for u in uses}
    assert not {3, 5} & {u.pin.physical for u in uses}
    assert (wiring.RTC_SDA, wiring.RTC_SCL) == (3, 5)


def test_power_and_ground_choices_are_power_and_ground_pins() -> None:
    assert wiring.HEADER[wiring.RTC_VCC] == "3V3"
    assert wiring.HEADER[wiring.RAIL_5V] == "5V"
    for pin in (wiring.RTC_GND, wiring.DRIVER_GND, wiring.STATUS_GND, wiring.BUTTONS_GND):
        assert wiring.HEADER[pin] == "GND", pin


def test_leds_and_buzzer_each_get_their_own_driver_channel() -> None:
    channels = [u.channel for u in wiring.uses(load_pinmap()) if u.channel is not None]
    assert len(channels) == len(set(channels)) == 6
    assert max(channels) <= wiring.DRIVER_CHANNELS
    assert wiring.driver_pins(1) == (1, 18) and wiring.driver_pins(8) == (8, 11)


PINMAP_TEXT = (ROOT / "kiosk" / "pinmap.toml").read_text()


@pytest.mark.parametrize(("old", "new", "complaint"), [
    ("led = { bcm = 27, physical = 13 }", "led = { bcm = 17, physical = 11 }", "share BCM 17"),
    ("button = { bcm = 5, physical = 29 }", "button = { bcm = 5, physical = 31 }",
     "BCM 5 is physical pin 29, not 31"),
    ("[buzzer]\nbcm = 18\nphysical = 12", "[buzzer]\nbcm = 2\nphysical = 3", "DS3231"),
    ("[status_led]\nbcm = 25\nphysical = 22", "[status_led]\nbcm = 28\nphysical = 22",
     "not on the 40-pin header"),
])
def test_a_broken_pin_map_is_refused_with_the_reason(old: str, new: str, complaint: str) -> None:
    assert old in PINMAP_TEXT
    found = wiring.problems(load_pinmap(PINMAP_TEXT.replace(old, new)))
    assert any(complaint in problem for problem in found), found


# ----------------------------------------------------------------- generated docs


def test_committed_svg_and_readme_table_are_regenerated() -> None:
    stale = [path.relative_to(ROOT) for path, text in wiring.outputs(load_pinmap()).items()
             if path.read_text(encoding="utf-8") != text]
    assert stale == [], f"{stale} differ from kiosk/pinmap.toml: run python hardware/wiring.py"


def test_check_mode_agrees(capsys: pytest.CaptureFixture[str]) -> None:
    assert wiring.main(["--check"]) == 0, capsys.readouterr().err


def test_a_pin_change_shows_in_both_documents() -> None:
    moved = load_pinmap(PINMAP_TEXT.replace("[buzzer]\nbcm = 18\nphysical = 12",
                                            "[buzzer]\nbcm = 12\nphysical = 32"))
    assert wiring.problems(moved) == []
    svg = wiring.wiring_svg(moved)
    assert svg != wiring.SVG_PATH.read_text(encoding="utf-8")
    assert "| Buzzer | 12 | 32 |" in wiring.pin_table(moved)


def test_svg_is_well_formed_and_labels_every_used_pin() -> None:
    tree = ElementTree.parse(wiring.SVG_PATH)
    texts = [el.text or "" for el in tree.iter("{http://www.w3.org/2000/svg}text")]
    for use in wiring.uses(load_pinmap()):
        assert f"BCM{use.pin.bcm}" in texts, use.name
        assert str(use.pin.physical) in texts, use.name
        assert any(t.startswith(use.name) for t in texts), use.name
    assert "DS3231" in texts
    assert sum(t == "GND" for t in texts) >= 8  # every ground pin of the header is labelled


def test_readme_table_lists_every_pin_once() -> None:
    section = wiring.README_PATH.read_text(encoding="utf-8").split(wiring.START)[1]
    section = section.split(wiring.END)[0]
    for use in wiring.uses(load_pinmap()):
        rows = [r for r in section.splitlines() if r.startswith(f"| {use.name}")]
        assert len(rows) == 1, use.name
        assert f"| {use.pin.bcm} | {use.pin.physical} |" in rows[0]
