"""Screenshots of every touch screen at 800x480 and 1920x1080, 3/4/5 faces, in the six shipped languages.

Kivy has one window per process, so `python -m kiosk.touch.shoot` runs once
per size. The PNGs land in the test artifacts (test-artifacts/touch/); the
JSON beside them lists the texts on each screen, and this test checks that
every expected label is there and fits its box.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.touch import testing
from kiosk.touch.shoot import SAMPLE_FOLLOWUP
from ressenti.faces import label
from ressenti.i18n import LANGUAGE_NAMES, LANGUAGES, gettext

SCALES, LANGS = (3, 4, 5), LANGUAGES
QUESTION = {"fr": "Comment s'est passé votre accueil ?", "en": "How was your visit?",
            "es": "¿Cómo ha sido su atención?", "pt": "Como correu o seu atendimento?",
            "ar": "كيف كان استقبالك؟", "uk": "Як вас прийняли?"}


@pytest.fixture(scope="module", params=["800x480", "1920x1080"])
def shots(request, artifacts) -> tuple[str, Path, dict]:
    if not os.environ.get("DISPLAY"):
        pytest.fail("no DISPLAY: run the touch tests under Xvfb, as ./dev test does")
    size = request.param
    out = artifacts / "touch"
    environment = {**os.environ, **testing.TEST_ENVIRONMENT}
    done = subprocess.run(
        [sys.executable, "-m", "kiosk.touch.shoot", "--size", size, "--out", str(out),
         "--scales", ",".join(map(str, SCALES)), "--langs", ",".join(LANGS)],
        env=environment, capture_output=True, text=True, timeout=180,
        cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return size, out, json.loads((out / f"texts-{size}.json").read_text())


def shot(shots: tuple[str, Path, dict], name: str) -> list[str]:
    size, out, report = shots
    filename = f"{name}-{size}.png"
    png = out / filename
    assert png.exists() and png.stat().st_size > 5000, f"{png} missing or empty"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = (int(v) for v in size.split("x"))
    header = png.read_bytes()[16:24]
    assert (int.from_bytes(header[:4], "big"), int.from_bytes(header[4:], "big")) == (width, height)
    texts = report["shots"][filename]["texts"]
    clipped = [t for t in texts if not t["fits"]]
    assert not clipped, f"text cut off on {filename}: {clipped}"
    return [t["text"] for t in texts]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scale", SCALES)
def test_question_screen_shows_every_face_label(shots, scale, lang):
    on_screen = shot(shots, f"question-{scale}faces-{lang}")
    for rating in range(1, scale + 1):
        assert label(scale, rating, lang) in on_screen
    assert QUESTION[lang] in on_screen
    next_lang = LANGS[(LANGS.index(lang) + 1) % len(LANGS)]
    assert LANGUAGE_NAMES[next_lang] in on_screen


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scale", SCALES)
def test_followup_and_thanks_screens(shots, scale, lang):
    on_screen = shot(shots, f"followup-{scale}faces-{lang}")
    assert SAMPLE_FOLLOWUP["question"][lang] in on_screen
    for choice in SAMPLE_FOLLOWUP["choices"]:
        assert choice[lang] in on_screen
    assert gettext(lang, "Skip") in on_screen
    assert {"fr": "Passer", "en": "Skip", "ar": "تخطٍّ", "uk": "Пропустити"}.get(lang, gettext(lang, "Skip")) in on_screen
    thanks = shot(shots, f"thanks-{scale}faces-{lang}")
    second = "Thank you!" if lang == "fr" else "Merci\u00a0!"
    assert thanks == [gettext(lang, "Thank you!"), second]
    assert thanks[0] != second


@pytest.mark.parametrize("scale", SCALES)
def test_idle_screen(shots, scale):
    on_screen = shot(shots, f"idle-{scale}faces-fr")
    assert {"Votre avis nous intéresse", "We value your opinion", QUESTION["fr"]} <= set(on_screen)


def test_fault_pin_and_technician_screens(shots):
    fault = shot(shots, "fault")
    assert fault[0].startswith("Votre avis n'a pas pu être enregistré")
    assert fault[1].startswith("Your answer could not be saved")
    pin = shot(shots, "pin")
    assert {"Code technicien\nTechnician code", "Annuler / Cancel", "OK", "0", "9"} <= set(pin)
    tech = shot(shots, "tech")
    assert {"Borne / Kiosk", "borne-essai-1", "mairie", "File / Queue", "Version"} <= set(tech)


def test_arabic_is_shaped_and_right_to_left(shots):
    """Kivy draws Arabic joined and in visual order only after kiosk/touch/script.py shaped it:
    the label's drawn text is the shaped one, its source the catalogue's, in DejaVu Sans."""
    from kiosk.touch.script import shaped

    on_screen = shot(shots, "question-4faces-ar")
    assert QUESTION["ar"] in on_screen
    drawn = shaped(QUESTION["ar"])
    assert drawn != QUESTION["ar"]
    assert all("\ufe70" <= ch <= "\ufeff" or ch in " ؟" for ch in drawn)  # presentation forms
    assert drawn.startswith("؟")  # visual order: the question mark is drawn at the left end
