"""Citizen-facing texts from gettext catalogues, shared by the kiosk and the collector.

The catalogues are ressenti/locales/<lang>/LC_MESSAGES/ressenti.po (source,
what a translator edits) and the compiled .mo beside each (what this module
reads, with the standard library's `gettext`, so the wire contract needs no
third-party package at run time). Message ids are the English texts; every
shipped catalogue, English included, translates every message
(tests/test_i18n_catalogues.py). How to add a language: docs/translating.md.

A message missing from a language falls back to French (French first), then
to the English id. `N_()` marks a text for extraction without translating it,
for tables built at import time (kiosk/touch/texts.py, ressenti/faces.py).
"""

from __future__ import annotations

import gettext as _gettext
from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locales")
DOMAIN = "ressenti"

# The languages citizens can choose, in the order a language switch offers them.
LANGUAGES = ("fr", "en", "es", "pt", "ar", "uk")
RTL_LANGUAGES = frozenset({"ar"})
# Each language's name in that language: what a language button shows.
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "es": "Español", "pt": "Português",
                  "ar": "العربية", "uk": "Українська"}

# The question's wordings a site can choose (a site setting, pushed to kiosks):
# the usual one, or "Facile à lire et à comprendre" (FALC, easy-to-read).
WORDINGS = ("standard", "falc")


def N_(message: str) -> str:  # noqa: N802 (gettext's name for it)
    """Mark `message` for extraction (babel.cfg); translate it later with `gettext(lang, ...)`."""
    return message


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue of `lang`, falling back to French then to the English ids."""
    if lang == "en":
        return _gettext.translation(DOMAIN, LOCALE_DIR, ["en"], fallback=True)
    chain = _gettext.translation(DOMAIN, LOCALE_DIR, [lang], fallback=True) if lang in LANGUAGES \
        else _gettext.NullTranslations()
    if lang != "fr":
        chain.add_fallback(translations("fr"))
    return chain


def gettext(lang: str, message: str) -> str:
    return translations(lang).gettext(message)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


def direction(lang: str) -> str:
    """'rtl' or 'ltr', for HTML's dir attribute and the touch screen's alignment."""
    return "rtl" if lang in RTL_LANGUAGES else "ltr"


def shipped(lang: str) -> bool:
    return lang in LANGUAGES


# -- the question -------------------------------------------------------------------

QUESTION = N_("How was your visit?")
QUESTION_FALC = N_("Did it go well today?")


def default_question(lang: str, wording: str = "standard") -> str:
    return gettext(lang, QUESTION_FALC if wording == "falc" else QUESTION)


def default_questions(wording: str = "standard", languages: tuple[str, ...] = LANGUAGES) -> dict[str, str]:
    """{lang: text} of the default question in every shipped language, in `wording`."""
    return {lang: default_question(lang, wording) for lang in languages}


def is_default_question(texts: dict[str, str]) -> bool:
    """Whether `texts` is one of the default questions (any wording, any subset of languages),
    not one a manager wrote: only a default question is replaced by the catalogue's text."""
    if not texts:
        return True
    return any(all(default_question(lang, wording) == text for lang, text in texts.items())
               for wording in WORDINGS)


def question_text(texts: dict[str, str], lang: str, wording: str = "standard") -> str:
    """The question to show in `lang`: the catalogue's for a default question (in the site's
    wording), else the manager's own text in `lang`, else in French, else any."""
    if is_default_question(texts):
        return default_question(lang, wording)
    return texts.get(lang) or texts.get("fr") or next(iter(texts.values()), "")
