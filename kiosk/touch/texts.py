"""Every fixed text of the touch screens, from the gettext catalogues (ressenti/i18n.py).

The question and the follow-up come from the kiosk's settings (a default
question from the catalogues too); the face labels from ressenti/faces.py.
The screens show every shipped language the site configured
(`settings.languages`); a configured language without a catalogue is skipped
(and logged).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from ressenti.i18n import LANGUAGE_NAMES, LANGUAGES, N_, gettext

__all__ = ["LANGUAGE_NAMES", "UI_LANGUAGES", "both", "localized", "text", "usable_languages"]

log = logging.getLogger(__name__)

UI_LANGUAGES = LANGUAGES

# key -> English message id (the catalogues translate it).
TEXTS: dict[str, str] = {
    "thanks": N_("Thank you!"),
    "skip": N_("Skip"),
    "fault": N_("Your answer could not be saved.\nPlease tell the reception desk."),
    "idle title": N_("We value your opinion"),
    "idle hint": N_("Touch the screen to answer"),
    "pin title": N_("Technician code"),
    "pin wrong": N_("Wrong code"),
    "cancel": N_("Cancel"),
    "close": N_("Close"),
    "erase": N_("Erase"),
    "ok": N_("OK"),
}


def text(key: str, lang: str) -> str:
    """A fixed text in `lang` (French where the catalogue has none)."""
    return gettext(lang, TEXTS[key])


def both(key: str, first: str = "fr") -> tuple[str, str]:
    """The text in `first`, then in French (or in English when `first` is French)."""
    other = "en" if first == "fr" else "fr"
    return text(key, first), text(key, other)


def localized(values: Mapping[str, str], lang: str) -> str:
    """Pick `lang` from a {lang: text} map of the settings, else French, else any."""
    return values.get(lang) or values.get("fr") or next(iter(values.values()), "")


def usable_languages(configured: Iterable[str]) -> tuple[str, ...]:
    """The configured languages the screens can show, in the configured order."""
    configured = tuple(configured)
    usable = tuple(lang for lang in configured if lang in UI_LANGUAGES)
    skipped = [lang for lang in configured if lang not in UI_LANGUAGES]
    if skipped:
        log.warning("touch screen: no catalogue for %s (docs/translating.md); showing %s",
                    ", ".join(skipped), ", ".join(usable or ("fr",)))
    return usable or ("fr",)
