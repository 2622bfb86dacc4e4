"""What a dashboard or export request is about: a scope the user may see, a period, which counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, request

from collector.queries import HOURS
from collector.registry import Site, list_sites
from collector.users import User
from collector.web.i18n import t

MAX_DAYS = 3660
PRESETS = ("7d", "30d", "month", "year")
DEFAULT_ZONE = ZoneInfo("Europe/Paris")


@dataclass(frozen=True)
class Selection:
    scope: str  # "all", "org:<id>" or "site:<id>"
    label: str
    sites: list[Site]
    start: date
    end: date
    hours: str
    counts: str

    def args(self, **changes: Any) -> dict[str, str]:
        """Query arguments that reproduce this selection (for links and exports)."""
        out = {"scope": self.scope, "from": self.start.isoformat(), "to": self.end.isoformat(),
               "hours": self.hours, "counts": self.counts}
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


def _date(name: str) -> date | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name}={value!r} is not a date (YYYY-MM-DD)")


def preset_period(preset: str, today: date) -> tuple[date, date]:
    if preset == "7d":
        return today - timedelta(days=6), today
    if preset == "month":
        return today.replace(day=1), today
    if preset == "year":
        return today.replace(month=1, day=1), today
    return today - timedelta(days=29), today


def selection(db: Any, user: User) -> Selection:
    scope, label, sites = resolve_scope(db, user, request.args.get("scope"))
    today = datetime.now(sites[0].zone if sites else DEFAULT_ZONE).date()
    start, end = _date("from"), _date("to")
    preset = request.args.get("period")
    if preset in PRESETS or (start is None and end is None):
        start, end = preset_period(preset or "30d", today)
    start = start or end or today
    end = end or today
    if end < start:
        abort(400, "the period ends before it starts")
    if (end - start).days > MAX_DAYS:
        abort(400, "a period is at most ten years")
    hours = request.args.get("hours", "all")
    counts = request.args.get("counts", "filtered")
    if hours not in HOURS or counts not in ("filtered", "raw"):
        abort(400, "hours is all or open; counts is filtered or raw")
    return Selection(scope, label, sites, start, end, hours, counts)
