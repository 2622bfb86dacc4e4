"""Face labels per scale, shared by every front-end and display (French first, then English)."""

from __future__ import annotations

# rating -> (fr, en); 1 = worst. The 3-face labels are those of the state's
# "Je donne mon avis" ("Très bien / Moyen / Pas bien").
FACE_LABELS: dict[int, dict[int, tuple[str, str]]] = {
    3: {3: ("Très bien", "Very good"), 2: ("Moyen", "Average"), 1: ("Pas bien", "Not good")},
    4: {4: ("Très bien", "Very good"), 3: ("Bien", "Good"), 2: ("Pas bien", "Not good"),
        1: ("Pas bien du tout", "Not good at all")},
    5: {5: ("Très bien", "Very good"), 4: ("Bien", "Good"), 3: ("Moyen", "Average"),
        2: ("Pas bien", "Not good"), 1: ("Très mal", "Very bad")},
}


def label(scale: int, rating: int, lang: str = "fr") -> str:
    fr, en = FACE_LABELS[scale][rating]
    return en if lang == "en" else fr


def mouth_curve(scale: int, rating: int) -> float:
    """-1 (deep frown) .. +1 (wide smile): the face's shape, so meaning never rests on colour."""
    return -1 + 2 * (rating - 1) / (scale - 1)
