"""hardware/: the pin map against the real 40-pin header, generated docs that cannot drift,
and the enclosure rendered by OpenSCAD for every scale."""

from __future__ import annotations

import importlib.util
import re
import shutil
import struct
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from xml.etree import ElementTree

import pytest

from kiosk.pinmap import load_pinmap, rating_for_position
from ressenti.faces import mouth_curve

ROOT = Path(__file__).resolve().parent.parent
HARDWARE = ROOT / "hardware"
SCAD = HARDWARE / "enclosure" / "box.scad"
SCALES = (3, 4, 5)


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


def test_outputs_stay_off_while_the_pi_boots() -> None:
    outputs = [u for u in wiring.uses(load_pinmap()) if u.role is not wiring.Role.BUTTON]
    assert all(u.pin.bcm >= 9 for u in outputs), "BCM 0-8 are pulled high at reset"


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
    ("[status_led]\nbcm = 25\nphysical = 22", "[status_led]\nbcm = 4\nphysical = 7",
     "pulled high at reset"),
])
def test_a_broken_pin_map_is_refused_with_the_reason(old: str, new: str, complaint: str) -> None:
    assert old in PINMAP_TEXT
    found = wiring.problems(load_pinmap(PINMAP_TEXT.replace(old, new)))
    assert any(complaint in problem for problem in found), found


# ----------------------------------------------------------------- generated docs


def test_committed_svg_and_readme_table_are_regenerated() -> None:
    stale = [path.relative_to(ROOT) for path, text in wiring.outputs(load_pinmap()).items()
             if path.read_text(encoding="utf-8") != text]
    assert stale == [], f"{stale} are stale: run .venv/bin/python hardware/wiring.py"


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


# ---------------------------------------------------------------------- enclosure


@dataclass
class Render:
    returncode: int
    stderr: str
    stl: Path

    def echo(self, name: str) -> str:
        match = re.search(rf"^ECHO: {name} = (.*)$", self.stderr, re.MULTILINE)
        assert match, f"no ECHO {name} in openscad's output:\n{self.stderr}"
        return match.group(1)


def _openscad() -> str:
    binary = shutil.which("openscad")
    if not binary:
        pytest.fail("openscad is not installed: apt-get install -y openscad (see .ci/run)")
    return binary


def _render(out: Path, scale: int, part: str) -> Render:
    # Coarse circles keep CGAL quick; the hole count does not depend on smoothness.
    cmd = [_openscad(), "-o", str(out), "-D", f"scale={scale}", "-D", f'part="{part}"',
           "-D", "$fn=12", "-D", "face_fn=16", str(SCAD)]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120)
    return Render(done.returncode, done.stderr, out)


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, str], Render]:
    """The front panel at every scale and the back box once, rendered in parallel."""
    out = tmp_path_factory.mktemp("enclosure")
    jobs = [(scale, "front") for scale in SCALES] + [(4, "back")]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = pool.map(lambda job: _render(out / f"box-{job[0]}-{job[1]}.stl", *job), jobs)
        return dict(zip(jobs, results, strict=True))


def _genus(stl: Path) -> int:
    """Through-holes of a closed triangle mesh in one piece: V - E + F = 2 - 2 * genus."""
    vertices: dict[tuple[str, ...], int] = {}
    edge_use: Counter[tuple[int, int]] = Counter()
    faces, corner = 0, []
    for line in stl.read_text().splitlines():
        words = line.split()
        if words[:1] == ["vertex"]:
            corner.append(vertices.setdefault(tuple(words[1:4]), len(vertices)))
            if len(corner) == 3:
                faces += 1
                for a, b in ((0, 1), (1, 2), (2, 0)):
                    edge_use[(min(corner[a], corner[b]), max(corner[a], corner[b]))] += 1
                corner = []
    assert faces > 0, f"{stl} is empty"
    assert set(edge_use.values()) == {2}, "the mesh is not closed"
    parent = list(range(len(vertices)))

    def root(v: int) -> int:
        while parent[v] != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for a, b in edge_use:
        parent[root(a)] = root(b)
    assert len({root(v) for v in range(len(vertices))}) == 1, "the part is not in one piece"
    euler = len(vertices) - len(edge_use) + faces
    return (2 - euler) // 2


@pytest.mark.parametrize("scale", SCALES)
def test_front_panel_renders_with_one_hole_per_face(renders, scale: int) -> None:
    render = renders[(scale, "front")]
    assert render.returncode == 0, render.stderr
    assert render.stl.stat().st_size > 10_000
    assert int(render.echo("button_holes")) == scale
    # Counted in the geometry itself: buttons, the status LED and four panel screws.
    assert _genus(render.stl) == scale + 1 + 4


@pytest.mark.parametrize("scale", SCALES)
def test_pictograms_follow_the_faces_of_the_scale(renders, scale: int) -> None:
    echoed = renders[(scale, "front")].echo("mouth_curves")
    curves = [float(c) for c in echoed.strip("[]").split(",")]
    expected = [mouth_curve(scale, rating_for_position(p, scale)) for p in range(1, scale + 1)]
    assert curves == pytest.approx(expected, abs=1e-5)
    assert curves[0] == 1 and curves[-1] == -1  # a smile on the left, a frown on the right


def test_back_box_renders_with_its_openings(renders) -> None:
    render = renders[(4, "back")]
    assert render.returncode == 0, render.stderr
    # 2 wall-mount keyholes, 1 anchor screw, 1 cable gland, 6 + 8 vent slots; the Pi
    # stand-offs and panel posts are blind holes and do not count.
    assert _genus(render.stl) == 2 + 1 + 1 + 6 + 8


def test_a_scale_outside_3_to_5_is_refused(tmp_path: Path) -> None:
    render = _render(tmp_path / "box.stl", 6, "front")
    assert render.returncode != 0
    assert "scale must be 3, 4 or 5" in render.stderr


@pytest.mark.parametrize("scale", SCALES)
def test_preview_images_are_committed(scale: int) -> None:
    png = HARDWARE / "enclosure" / f"preview-{scale}.png"
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{png} missing: run hardware/enclosure/render.sh"
    assert struct.unpack(">II", head[16:24]) == (1200, 900)
    assert png.stat().st_size < 300_000
