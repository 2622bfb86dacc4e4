"""What a dashboard or export request is about: a scope the user may see, a period, which counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, request

from collector.followups import questions_of
from collector.queries import HOURS
from collector.registry import Site, list_sites
from collector.users import User
from collector.web.i18n import t
from ressenti.errors import RessentiError

MAX_DAYS = 3660
# (value, French, English), in the order the dashboard offers them.
PRESETS = (("week", "Cette semaine", "This week"), ("last-week", "Semaine dernière", "Last week"),
           ("month", "Ce mois", "This month"), ("last-month", "Mois dernier", "Last month"),
           ("7d", "7 jours", "7 days"), ("30d", "30 jours", "30 days"), ("year", "Cette année", "This year"))
PRESET_VALUES = tuple(p[0] for p in PRESETS)
DEFAULT_ZONE = ZoneInfo("Europe/Paris")
FIRST_DAY = date(2000, 1, 1)  # before any kiosk; keeps date arithmetic far from year 1
FUTURE_DAYS = 366


class SelectionError(RessentiError, ValueError):
    """A dashboard filter was refused; it names the form field and says why in both languages."""

    def __init__(self, field: str, fr: str, en: str) -> None:
        super().__init__(en)
        self.field, self.fr, self.en = field, fr, en


@dataclass(frozen=True)
class Selection:
    scope: str  # "all", "org:<id>" or "site:<id>"
    label: str
    sites: list[Site]
    start: date
    end: date
    hours: str
    counts: str
    preset: str | None = None
    question: str | None = None  # one question of a site that has had several; None: every answer

    @property
    def previous(self) -> tuple[date, date]:
        """The period this one is compared with (`previous_period`)."""
        return previous_period(self.start, self.end)

    def args(self, **changes: Any) -> dict[str, str]:
        """Query arguments that reproduce this selection (for links and exports)."""
        out = {"scope": self.scope, "from": self.start.isoformat(), "to": self.end.isoformat(),
               "hours": self.hours, "counts": self.counts}
        if self.question is not None:
            out["question"] = self.question
        out.update({k: str(v) for k, v in changes.items()})
        return out


def visible_sites(db: Any, user: User) -> list[Site]:
    return [s for s in list_sites(db) if user.may_see(s)]


def scope_choices(db: Any, user: User) -> list[tuple[str, str]]:
    """(value, label) of every scope the user may pick: all, each organisation, each site."""
    sites = visible_sites(db, user)
    names = {r["id"]: r["name"] for r in db.query("SELECT id, name FROM orgs")}
    choices = [("all", t("Tous mes sites", "All my sites"))] if len(sites) > 1 else []
    for org in dict.fromkeys(s.org for s in sites):
        org_sites = [s for s in sites if s.org == org]
        if len(org_sites) > 1 or user.sees_everything() or f"org:{org}" in user.scope:
            choices.append((f"org:{org}", t("Organisation", "Organisation") + f" · {names.get(org, org)}"))
    choices += [(f"site:{s.id}", s.name) for s in sites]
    return choices


def resolve_scope(db: Any, user: User, value: str | None) -> tuple[str, str, list[Site]]:
    choices = dict(scope_choices(db, user))
    if not choices:
        abort(403)
    if value is None:
        value = next(iter(choices))
    if value not in choices:
        abort(403)
    sites = visible_sites(db, user)
    if value.startswith("org:"):
        sites = [s for s in sites if s.org == value[4:]]
    elif value.startswith("site:"):
        sites = [s for s in sites if s.id == value[5:]]
    return value, choices[value], sites


def _date(name: str, today: date) -> date | None:
    """A date typed in the filters: ISO (what the date picker sends) or French dd/mm/yyyy."""
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        if "/" in value:
            day, month, year = (int(part) for part in value.split("/"))
            parsed = date(year, month, day)
        else:
            parsed = date.fromisoformat(value)
    except ValueError:
        raise SelectionError(name, "Ce n'est pas une date (jj/mm/aaaa).",
                             "This is not a date (YYYY-MM-DD).") from None
    latest = today + timedelta(days=FUTURE_DAYS)
    if not FIRST_DAY <= parsed <= latest:
        raise SelectionError(name, f"Choisissez une date entre le {FIRST_DAY:%d/%m/%Y} et le {latest:%d/%m/%Y}.",
                             f"Choose a date from {FIRST_DAY.isoformat()} to {latest.isoformat()}.")
    return parsed


def _month_back(day: date) -> date:
    """The first day of the month before `day`'s."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def preset_period(preset: str, today: date) -> tuple[date, date]:
    monday = today - timedelta(days=today.weekday())
    if preset == "7d":
        return today - timedelta(days=6), today
    if preset == "week":
        return monday, today
    if preset == "last-week":
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if preset == "month":
        return today.replace(day=1), today
    if preset == "last-month":
        return _month_back(today), today.replace(day=1) - timedelta(days=1)
    if preset == "year":
        return today.replace(month=1, day=1), today
    return today - timedelta(days=29), today


def previous_period(start: date, end: date) -> tuple[date, date]:
    """What a period is compared with: the same days of the week (or month, or year) before it.

    A period starting on a Monday and shorter than a week is compared with the
    same weekdays of the week before ("this week so far" with last week up to
    the same weekday); one starting on the 1st of a month, with the same days of
    the month before (the whole month for a whole month); else the period of
    the same length just before.
    """
    length = (end - start).days + 1
    if start.day == 1 and length <= 31:
        before = _month_back(start)
        month_end = start - timedelta(days=1)
        whole = (end + timedelta(days=1)).day == 1
        return before, month_end if whole else min(month_end, before + timedelta(days=length - 1))
    if start.weekday() == 0 and length <= 7:
        return start - timedelta(days=7), end - timedelta(days=7)
    return start - timedelta(days=length), start - timedelta(days=1)


def selection(db: Any, user: User) -> Selection:
    scope, label, sites = resolve_scope(db, user, request.args.get("scope"))
    today = datetime.now(sites[0].zone if sites else DEFAULT_ZONE).date()
    start, end = _date("from", today), _date("to", today)
    preset = request.args.get("period")
    if preset in PRESET_VALUES or (start is None and end is None):
        preset = preset if preset in PRESET_VALUES else "30d"
        start, end = preset_period(preset, today)
    else:
        preset = None
    start = start or end or today
    end = end or today
    if end < start:
        raise SelectionError("to", "La fin de la période est avant son début.", "The period ends before it starts.")
    if (end - start).days > MAX_DAYS:
        raise SelectionError("from", "Une période dure dix ans au plus.", "A period is at most ten years.")
    hours = request.args.get("hours", "all")
    counts = request.args.get("counts", "filtered")
    if hours not in HOURS:
        raise SelectionError("hours", "Choisissez toutes les heures ou les heures d'ouverture.",
                             "Choose all hours or opening hours.")
    if counts not in ("filtered", "raw"):
        raise SelectionError("counts", "Choisissez les appuis filtrés ou bruts.", "Choose filtered or raw presses.")
    question = request.args.get("question") or None
    if question is not None and (len(sites) != 1 or question not in questions_of(db, sites[0])):
        raise SelectionError("question", "Choisissez une question posée sur ce site.",
                             "Choose a question asked at this site.")
    return Selection(scope, label, sites, start, end, hours, counts, preset, question)
