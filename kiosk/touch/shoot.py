"""Screenshots of every touch screen at one window size, with the texts each one shows.

    python -m kiosk.touch.shoot --size 800x480 --scales 3,4,5 --langs fr,en --out DIR

Kivy has one window per process, so each size runs in its own process (the
tests call this once per size, under Xvfb). It drives a real Kiosk on a
throw-away outbox through the controller, as a citizen would, saves
`<screen>-<scale>faces-<lang>-<W>x<H>.png` and writes `texts-<W>x<H>.json`:
for each picture, the labels on screen and whether each fits its box.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.touch import env
from kiosk.touch.testing import open_window, pump

if TYPE_CHECKING:
    from kiosk.touch.controller import TouchController

SAMPLE_FOLLOWUP: dict[str, Any] = {
    "id": "why", "when_rating_at_most": 2, "timeout_s": 120,
    "question": {"fr": "Qu'est-ce qui n'a pas été ?", "en": "What went wrong?", "es": "¿Qué ha fallado?",
                 "pt": "O que correu mal?", "ar": "ما الذي لم يكن جيدًا؟", "uk": "Що було не так?"},
    "choices": [
        {"id": "wait", "fr": "Temps d'attente", "en": "Waiting time", "es": "Tiempo de espera",
         "pt": "Tempo de espera", "ar": "وقت الانتظار", "uk": "Час очікування"},
        {"id": "unclear", "fr": "Information peu claire", "en": "Unclear information",
         "es": "Información poco clara", "pt": "Informação pouco clara", "ar": "معلومات غير واضحة",
         "uk": "Незрозуміла інформація"},
        {"id": "welcome", "fr": "Accueil", "en": "Welcome", "es": "Atención", "pt": "Atendimento",
         "ar": "الاستقبال", "uk": "Прийом"},
        {"id": "other", "fr": "Autre", "en": "Other", "es": "Otro", "pt": "Outro", "ar": "غير ذلك",
         "uk": "Інше"},
    ],
}


def shoot(out: Path, size: tuple[int, int], scales: list[int], langs: list[str]) -> dict[str, Any]:
    env.prepare(fullscreen=False, size=size)

    from kiosk.clock import ClockState
    from kiosk.core import Kiosk
    from kiosk.outbox import Outbox
    from kiosk.touch.controller import TouchController, TouchOptions
    from kiosk.touch.widgets import visible_texts
    from ressenti.protocol import Clock, KioskSettings

    window = open_window(size)
    out.mkdir(parents=True, exist_ok=True)
    tag = f"{size[0]}x{size[1]}"
    report: dict[str, Any] = {"size": list(size), "shots": {}}
    slow = TouchOptions(thanks_s=600, fault_s=600, idle_after_s=600, tech_timeout_s=600,
                        tech_pin="2580")

    def save(controller: TouchController, name: str) -> None:
        pump(frames=3)
        path = out / f"{name}-{tag}.png"
        controller.root.export_to_png(str(path))
        report["shots"][path.name] = {"screen": controller.screen,
                                      "texts": visible_texts(controller.screens.current_screen)}

    with tempfile.TemporaryDirectory(prefix="ressenti-shoot-") as tmp:
        for scale in scales:
            outbox = Outbox(Path(tmp) / f"outbox-{scale}.db")
            kiosk = Kiosk("borne-essai-1", "mairie", outbox, clock=ClockState(Clock.NTP),
                          settings=KioskSettings(rev=1, scale=scale, followup=SAMPLE_FOLLOWUP,
                                                 languages=tuple(langs)))
            controller = TouchController(kiosk, options=slow)
            window.add_widget(controller.root)
            walk_screens(controller, scale, langs, technician=scale == scales[-1],
                         save=functools.partial(save, controller))
            window.remove_widget(controller.root)
            controller.close()
            outbox.close()
    (out / f"texts-{tag}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    return report


def walk_screens(controller: TouchController, scale: int, langs: list[str], *, technician: bool,
                 save: Callable[[str], None]) -> None:
    """Take the citizen's path in each language, then the idle and (once) the staff screens."""
    from kiosk.touch.controller import Screen

    for lang in langs:
        controller.show_question()
        while controller.lang != lang:
            controller.switch_language()
        save(f"question-{scale}faces-{lang}")
        controller.rate(1)
        save(f"followup-{scale}faces-{lang}")
        controller.answer_followup(None)
        pump(lambda: controller.screen == Screen.THANKS)
        save(f"thanks-{scale}faces-{lang}")
    controller.show_question()
    controller.show_idle()
    save(f"idle-{scale}faces-fr")
    if technician:
        controller.show_fault()
        save("fault")
        controller.show_question()
        controller.open_pin()
        for key in ("2", "5"):
            controller.pin_key(key)
        save("pin")
        for key in ("8", "0", "ok"):
            controller.pin_key(key)
        pump(lambda: controller.tech.values["Version"].source_text != "…")
        save("tech")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="800x480", help="window size WxH")
    parser.add_argument("--scales", default="3,4,5", help="numbers of faces, comma-separated")
    parser.add_argument("--langs", default="fr,en", help="languages, comma-separated")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for the PNGs and texts JSON")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    report = shoot(args.out, (width, height), [int(s) for s in args.scales.split(",")],
                   args.langs.split(","))
    print(f"{len(report['shots'])} screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
