"""Every fixed text of the touch screens, French first, English second.

The question and the follow-up come from the kiosk's settings; the face labels
from ressenti/faces.py. Only French and English have UI texts today: a
language in `settings.languages` without them is skipped (and logged).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

UI_LANGUAGES = ("fr", "en")

# The language button shows the name of the language it switches to, in that language.
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}

TEXTS: dict[str, dict[str, str]] = {
    "thanks": {"fr": "Merci\u00a0!", "en": "Thank you!"},
    "skip": {"fr": "Passer", "en": "Skip"},
    "fault": {
        "fr": "Votre avis n'a pas pu être enregistré.\nMerci de prévenir l'accueil.",
        "en": "Your answer could not be saved.\nPlease tell the reception desk.",
    },
    "idle title": {"fr": "Votre avis nous intéresse", "en": "We value your opinion"},
    "idle hint": {"fr": "Touchez l'écran pour répondre", "en": "Touch the screen to answer"},
    "pin title": {"fr": "Code technicien", "en": "Technician code"},
    "pin wrong": {"fr": "Code incorrect", "en": "Wrong code"},
    "cancel": {"fr": "Annuler", "en": "Cancel"},
    "close": {"fr": "Fermer", "en": "Close"},
    "erase": {"fr": "Effacer", "en": "Erase"},
    "ok": {"fr": "OK", "en": "OK"},
}


def text(key: str, lang: str) -> str:
    """A fixed text in `lang`, or in French when there is none."""
    entry = TEXTS[key]
    return entry.get(lang) or entry["fr"]


def both(key: str, first: str = "fr") -> tuple[str, str]:
    """The text in `first` and in the other UI language (for bilingual screens)."""
    other = "en" if first == "fr" else "fr"
    return text(key, first), text(key, other)


def localized(values: Mapping[str, str], lang: str) -> str:
    """Pick `lang` from a {lang: text} map of the settings, else French, else any."""
    return values.get(lang) or values.get("fr") or next(iter(values.values()), "")


def usable_languages(configured: Iterable[str]) -> tuple[str, ...]:
    """The configured languages the screens can show, in the configured order."""
    usable = tuple(lang for lang in configured if lang in UI_LANGUAGES)
    return usable or ("fr",)
