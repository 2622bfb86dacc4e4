"""French first, English on request: `?lang=en` (remembered in the session), else the user's choice.

Staff pages keep their texts next to each other in the templates,
`t("Réponses", "Answers")`: two languages do not need a catalogue.
Citizen pages (the public results, the web survey: CITIZEN_BLUEPRINTS) take
any of ressenti.i18n.LANGUAGES from `?lang=` and their texts from the gettext
catalogues, `_("Answers")` in a template (docs/translating.md); numbers and
months come from Babel's CLDR data in the languages beyond French and English.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import get_month_names
from babel.numbers import format_decimal
from flask import Flask, current_app, g, request, session

from collector.breakdown_rows import CHANNELS  # the templates' channel names
from ressenti import i18n as catalogues

LANGS = ("fr", "en")
CITIZEN_LANGS = catalogues.LANGUAGES
CITIZEN_BLUEPRINTS = ("public", "survey")
WEEKDAYS = {"fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
            "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")}
WEEKDAYS_SHORT = {"fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
                  "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
MONTHS = {"fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                 "nov.", "déc."),
          "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")}


def citizen_page() -> bool:
    return request.blueprint in CITIZEN_BLUEPRINTS


def lang() -> str:
    if "lang" not in g:
        asked = request.args.get("lang")
        if citizen_page() and asked in CITIZEN_LANGS:
            g.lang = asked  # the URL says the language: no session for a citizen
        elif asked in LANGS:
            g.lang = asked
            # A TV has no session, nor has a public reader: their URL says the language.
            if request.blueprint not in ("wall", "public", "opendata", "survey"):
                session["lang"] = asked
        elif session.get("lang") in LANGS:
            g.lang = session["lang"]
        else:
            user = g.get("user")
            g.lang = user.lang if user is not None and user.lang in LANGS else "fr"
    return str(g.lang)


def t(fr: str, en: str) -> str:
    return en if lang() == "en" else fr


def gettext(message: str, **values: object) -> str:
    """A catalogue text in the page's language, `%(name)s` filled from `values`."""
    text = catalogues.gettext(lang(), message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values: object) -> str:
    text = catalogues.ngettext(lang(), singular, plural, n)
    return text % {"num": n, **values}


def text_direction() -> str:
    return catalogues.direction(lang())


def number(n: int | float | None, digits: int = 0) -> str:
    """12 345 in French (narrow no-break space), 12,345 in English."""
    if n is None:
        return "—"
    if lang() not in LANGS:
        return str(format_decimal(n, format=f"#,##0.{'0' * digits}" if digits else "#,##0", locale=lang()))
    text = f"{n:,.{digits}f}"
    if lang() == "fr":
        text = text.replace(",", "\u202f").replace(".", ",")
    return text


def pct(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "—"
    value = number(x * 100, digits)
    return f"{value}\u202f%" if lang() in ("fr", "es") else f"{value}%"


def signed_pct(x: float | None) -> str:
    """Net satisfaction: a signed share, e.g. +52 %."""
    if x is None:
        return "—"
    value = round(x * 100)
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return f"{sign}{abs(value)}\u202f%" if lang() in ("fr", "es") else f"{sign}{abs(value)}%"


def points(delta: float | None) -> str:
    """A difference of two rates, in percentage points, signed."""
    if delta is None:
        return "—"
    value = round(delta * 100)
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return f"{sign}{abs(value)}\u202fpt" + ("s" if abs(value) > 1 else "")


def duration(seconds: int | None) -> str:
    """An uptime in words: '3 j 4 h', '5 h 12 min', '12 min' (English: '3 d 4 h', ...)."""
    if seconds is None or seconds < 0:
        return "—"
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    day_unit = t("j", "d")
    if days:
        return f"{days}\u202f{day_unit} {hours}\u202fh"
    if hours:
        return f"{hours}\u202fh {minutes}\u202fmin"
    return f"{minutes}\u202fmin"


def megabytes(mb: int | None) -> str:
    """Free disk: '1,2 Go' or '180 Mo' in French, '1.2 GB' or '180 MB' in English."""
    if mb is None:
        return "—"
    if mb >= 1000:
        return f"{number(mb / 1000, 1)}\u202f{t('Go', 'GB')}"
    return f"{number(mb)}\u202f{t('Mo', 'MB')}"


def month_name(month: int) -> str:
    """A month's abbreviated name in the page's language."""
    if lang() in MONTHS:
        return MONTHS[lang()][month - 1]
    return str(get_month_names("abbreviated", context="format", locale=lang())[month])


def day_label(d: date, *, year: bool = False) -> str:
    month = month_name(d.month)
    text = f"{d.day} {month}"
    return f"{text} {d.year}" if year else text


def moment(value: str | None, tz: str | None = None) -> str:
    """A UTC timestamp as 'dd/mm HH:MM' in a site's zone, else the collector's TIME_ZONE."""
    if not value:
        return "—"
    try:
        zone = ZoneInfo(tz or current_app.config["TIME_ZONE"])
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(zone)
    except (ValueError, KeyError):
        return value
    return stamp.strftime("%d/%m %H:%M") if lang() == "fr" else stamp.strftime("%d %b %H:%M")


def scope_label(entry: str, orgs: dict[str, str], sites: dict[str, str]) -> str:
    """'org:demo-ville' -> 'Organisation Ville de Démo', 'site:mairie' -> the site's name."""
    kind, _, ident = entry.partition(":")
    if kind == "org":
        return f"{t('Organisation', 'Organisation')} {orgs.get(ident, ident)}"
    return sites.get(ident, ident)


def install(app: Flask) -> None:
    app.jinja_env.add_extension("jinja2.ext.i18n")
    # Newstyle: Jinja fills `%(name)s` from the call's keywords, `%(num)d` for ngettext.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda message: catalogues.gettext(lang(), message),
        lambda singular, plural, n: catalogues.ngettext(lang(), singular, plural, n), newstyle=True)
    app.jinja_env.globals.update(t=t, lang=lang, text_direction=text_direction,
                                 LANGUAGE_NAMES=catalogues.LANGUAGE_NAMES, CITIZEN_LANGS=CITIZEN_LANGS,
                                 number=number, pct=pct, points=points, signed_pct=signed_pct,
                                 day_label=day_label, moment=moment, duration=duration, megabytes=megabytes,
                                 WEEKDAYS=WEEKDAYS, WEEKDAYS_SHORT=WEEKDAYS_SHORT, CHANNELS=CHANNELS,
                                 scope_label=scope_label)
