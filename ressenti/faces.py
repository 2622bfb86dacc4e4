"""Face labels per scale, shared by every front-end and display.

The words come from the gettext catalogues (ressenti/i18n.py): `label(scale,
rating, lang)` in any shipped language. `FACE_LABELS` keeps the French and
English pair for the displays that show both at once (the wall, the wiring
sheet).
"""

from __future__ import annotations

from ressenti.i18n import N_, gettext

# rating -> English message id; 1 = worst. The 3-face labels are those of the
# state's "Je donne mon avis" ("Très bien / Moyen / Pas bien").
FACE_MESSAGES: dict[int, dict[int, str]] = {
    3: {3: N_("Very good"), 2: N_("Average"), 1: N_("Not good")},
    4: {4: N_("Very good"), 3: N_("Good"), 2: N_("Not good"), 1: N_("Not good at all")},
    5: {5: N_("Very good"), 4: N_("Good"), 3: N_("Average"), 2: N_("Not good"), 1: N_("Very bad")},
}


def label(scale: int, rating: int, lang: str = "fr") -> str:
    return gettext(lang, FACE_MESSAGES[scale][rating])


# rating -> (fr, en)
FACE_LABELS: dict[int, dict[int, tuple[str, str]]] = {
    scale: {rating: (label(scale, rating, "fr"), label(scale, rating, "en")) for rating in messages}
    for scale, messages in FACE_MESSAGES.items()
}


def mouth_curve(scale: int, rating: int) -> float:
    """-1 (deep frown) .. +1 (wide smile): the face's shape, so meaning never rests on colour."""
    return -1 + 2 * (rating - 1) / (scale - 1)
