"""Alert rule kinds, their day-one defaults, scopes and the validation of a rule's parameters.

Every site gets each kind's defaults unless a rule of that kind overrides them
for its site, its organisation or everything (`all`): the most specific rule
wins, and a disabled rule turns the kind off there (docs/alerts.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from collector.registry import get_site
from ressenti.errors import RessentiError
from ressenti.protocol import is_slug

ALL = "all"


class AlertRuleError(RessentiError, ValueError):
    """An alert rule was refused; the message says which field and why (French, then English)."""

    def __init__(self, field: str, fr: str, en: str) -> None:
        super().__init__(f"{field}: {en}")
        self.field = field
        self.fr = fr
        self.en = en


class Kind(StrEnum):
    UNHAPPY_SHARE = "unhappy_share"
    KIOSK_OFFLINE = "kiosk_offline"
    SILENCE = "silence"
    UNUSUAL_VOLUME = "unusual_volume"
    SEQ_GAPS = "seq_gaps"
    CLOCK_UNSYNCED = "clock_unsynced"
    OUTBOX_DROPS = "outbox_drops"
    SATISFACTION_DROP = "satisfaction_drop"
    SATISFACTION_DROP_WEEK = "satisfaction_drop_week"


FLEET_KINDS = frozenset({Kind.KIOSK_OFFLINE, Kind.SEQ_GAPS, Kind.CLOCK_UNSYNCED, Kind.OUTBOX_DROPS})


@dataclass(frozen=True)
class Param:
    """One parameter of a kind: its default and the whole-number range it must fall in."""

    default: int
    low: int
    high: int
    fr: str
    en: str


# Whole numbers only: a share is in percent, durations in minutes. The ranges refuse a
# window of 0 or a share of 150 % with a message that names the field.
PARAMS: dict[Kind, dict[str, Param]] = {
    Kind.UNHAPPY_SHARE: {
        "share_pct": Param(50, 1, 100, "part des visages du bas (%)", "share of the bottom faces (%)"),
        "window_min": Param(15, 5, 24 * 60, "fenêtre glissante (minutes)", "sliding window (minutes)"),
        "min_count": Param(4, 1, 100_000, "nombre minimal de réponses", "minimum number of answers"),
    },
    Kind.KIOSK_OFFLINE: {
        "after_min": Param(15, 5, 7 * 24 * 60, "hors ligne depuis plus de (minutes)",
                           "offline for more than (minutes)"),
        "back_for_min": Param(10, 0, 24 * 60, "revenue depuis au moins (minutes) pour clore",
                              "back for at least (minutes) to resolve"),
    },
    Kind.SILENCE: {
        "min_minutes": Param(30, 10, 24 * 60, "silence d'au moins (minutes)", "silent for at least (minutes)"),
        "factor": Param(3, 1, 100, "fois l'intervalle habituel entre deux réponses",
                        "times the usual interval between two answers"),
        "min_per_hour": Param(2, 1, 10_000, "réponses habituelles par heure, au moins",
                              "usual answers per hour, at least"),
        "weeks": Param(8, 1, 52, "semaines de référence", "weeks of baseline"),
    },
    Kind.UNUSUAL_VOLUME: {
        "window_min": Param(60, 5, 24 * 60, "fenêtre (minutes)", "window (minutes)"),
        "min_count": Param(60, 1, 1_000_000, "appuis au moins", "presses at least"),
        "factor": Param(3, 2, 1000, "fois l'heure la plus chargée habituelle", "times the busiest usual hour"),
        "weeks": Param(4, 1, 52, "semaines de référence", "weeks of baseline"),
        "late_hours": Param(24, 1, 24 * 366, "réponses arrivées en retard de plus de (heures)",
                            "answers arriving more than (hours) late"),
        "late_count": Param(10, 1, 1_000_000, "réponses en retard dans la fenêtre, au moins",
                            "late answers in the window, at least"),
    },
    Kind.SEQ_GAPS: {
        "after_min": Param(30, 1, 7 * 24 * 60, "réponses manquantes depuis (minutes)",
                           "answers missing for (minutes)"),
    },
    Kind.CLOCK_UNSYNCED: {
        "after_min": Param(30, 1, 7 * 24 * 60, "horloge non synchronisée depuis (minutes)",
                           "clock unsynchronised for (minutes)"),
    },
    Kind.OUTBOX_DROPS: {
        "quiet_min": Param(60, 5, 7 * 24 * 60, "close après (minutes) sans nouvelle perte",
                           "resolved after (minutes) without a new drop"),
    },
    Kind.SATISFACTION_DROP: {
        "drop_pts": Param(20, 5, 100, "baisse de la satisfaction d'au moins (points)",
                          "satisfaction lower by at least (points)"),
        "min_count": Param(20, 5, 100_000, "réponses du jour, au moins", "answers of the day, at least"),
        "weeks": Param(8, 2, 52, "semaines de référence (même jour de la semaine)",
                       "weeks of baseline (same weekday)"),
    },
    Kind.SATISFACTION_DROP_WEEK: {
        "drop_pts": Param(15, 5, 100, "baisse de la satisfaction d'au moins (points)",
                          "satisfaction lower by at least (points)"),
        "min_count": Param(50, 5, 1_000_000, "réponses de la semaine, au moins", "answers of the week, at least"),
        "weeks": Param(8, 2, 52, "semaines de référence (les précédentes)", "weeks of baseline (the previous ones)"),
    },
}

KIND_LABELS: dict[Kind, tuple[str, str]] = {
    Kind.UNHAPPY_SHARE: ("Beaucoup d'avis négatifs", "Many unhappy answers"),
    Kind.KIOSK_OFFLINE: ("Borne hors ligne", "Kiosk offline"),
    Kind.SILENCE: ("Aucune réponse depuis longtemps", "No answer for a long time"),
    Kind.UNUSUAL_VOLUME: ("Nombre d'appuis inhabituel", "Unusual number of presses"),
    Kind.SEQ_GAPS: ("Réponses perdues ou manquantes", "Answers lost or missing"),
    Kind.CLOCK_UNSYNCED: ("Horloge de borne non synchronisée", "Kiosk clock not synchronised"),
    Kind.OUTBOX_DROPS: ("Réponses effacées par une borne (mémoire pleine)", "Answers dropped by a kiosk (outbox full)"),
    Kind.SATISFACTION_DROP: ("Satisfaction en baisse", "Satisfaction drop"),
    Kind.SATISFACTION_DROP_WEEK: ("Semaine en baisse", "A week below the usual"),
}


def defaults(kind: Kind) -> dict[str, int]:
    return {name: p.default for name, p in PARAMS[kind].items()}


def parse_kind(value: Any) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise AlertRuleError("kind", f"type d'alerte inconnu : {value!r}",
                             f"unknown kind {value!r} (one of {', '.join(Kind)})") from None


def check_scope(db: Database, scope: Any) -> str:
    """`all`, `org:<id>` or `site:<id>` of an existing organisation or site."""
    if scope == ALL:
        return ALL
    kind, _, ident = str(scope).partition(":") if isinstance(scope, str) else ("", "", "")
    if kind not in ("org", "site") or not is_slug(ident):
        raise AlertRuleError("scope", "la portée doit être all, org:<id> ou site:<id>",
                             "scope must be all, org:<id> or site:<id>")
    if kind == "site" and get_site(db, ident) is None:
        raise AlertRuleError("scope", f"le site {ident!r} n'existe pas", f"site {ident!r} does not exist")
    if kind == "org" and not db["orgs"].count_where("id = ?", [ident]):
        raise AlertRuleError("scope", f"l'organisation {ident!r} n'existe pas",
                             f"organisation {ident!r} does not exist")
    return f"{kind}:{ident}"


def check_params(kind: Kind, given: Any) -> dict[str, int]:
    """The kind's defaults overridden by `given`; unknown names, non-integers and values out of range refused."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise AlertRuleError("params", "les paramètres doivent être un objet", "params must be an object")
    spec = PARAMS[kind]
    out = defaults(kind)
    for name, value in given.items():
        if name not in spec:
            raise AlertRuleError(name, f"paramètre inconnu pour ce type d'alerte : {name}",
                                 f"unknown parameter for {kind}: {name} (known: {', '.join(spec)})")
        p = spec[name]
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool):
            raise AlertRuleError(name, f"{p.fr} : un nombre entier est attendu",
                                 f"{p.en}: a whole number is expected")
        if not p.low <= value <= p.high:
            raise AlertRuleError(name, f"{p.fr} : {value} n'est pas entre {p.low} et {p.high}",
                                 f"{p.en}: {value} is not between {p.low} and {p.high}")
        out[name] = value
    return out
