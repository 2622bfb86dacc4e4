"""What a manager sees: per team, per closed week or month, nothing under the minimum group size.

A period is shown only with at least `min_group` answers. In the weekly view, the weeks of a
month the monthly view shows are withheld together when what the hidden ones add up to is a
small cell (fewer than `min_group` but not 0): the month minus the weeks shown would give it.
No figure is finer than a week, broken down by site, or shown for a team as a whole organisation
(an organisation's total minus its teams would be a small team's figures). Beside each period:
the users' net satisfaction of the team's sites over the same days (collector/bands.py).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlite_utils import Database

from collector.bands import Band, band_counts, band_figures
from collector.barometer.settings import get_settings
from collector.barometer.teams import Team
from collector.barometer.weeks import month_of_week, month_weeks, period_days, period_weeks, recent_periods
from collector.report_cells import cells_for

STABLE_POINTS = 0.02  # a change under 2 points is read as stable


def _responses(db: Database, team: Team, weeks: list[str]) -> dict[str, int]:
    marks = ",".join("?" * len(weeks))
    return {w: n for w, n in db.conn.execute(
        f"SELECT week, n FROM barometer_responses WHERE team = ? AND week IN ({marks})", [team.id, *weeks])}


def visible_weeks(db: Database, team: Team, weeks: list[str], min_group: int) -> set[str]:
    """Weeks with enough answers, minus those whose hiding would leave a small remainder in their month."""
    months = {month_of_week(w) for w in weeks}
    all_weeks = sorted({w for m in months for w in month_weeks(m)})
    counts = _responses(db, team, all_weeks)
    shown = {w for w in all_weeks if counts.get(w, 0) >= min_group}
    for month in months:
        in_month = month_weeks(month)
        total = sum(counts.get(w, 0) for w in in_month)
        if total < min_group:
            continue  # the month itself is not shown: nothing to subtract from
        kept = sorted((w for w in in_month if w in shown), key=lambda w: counts.get(w, 0))
        while kept and 0 < total - sum(counts.get(w, 0) for w in kept) < min_group:
            shown.discard(kept.pop(0))
    return shown & set(weeks)


def _barometer(db: Database, team: Team, weeks: list[str], settings: Any) -> dict[str, Any]:
    marks = ",".join("?" * len(weeks))
    n = sum(_responses(db, team, weeks).values())
    per_question: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for question, scale, rating, count in db.conn.execute(
            f"SELECT question, scale, rating, SUM(n) FROM barometer_counts WHERE team = ? AND week IN ({marks})"
            " GROUP BY question, scale, rating", [team.id, *weeks]):
        per_question[question].append((scale, rating, count))
    themes, pooled = [], dict.fromkeys(Band, 0)
    for q in settings.questions:
        bands = band_counts(per_question.get(q.id, []))
        answered = sum(bands.values())
        for band, count in bands.items():
            pooled[band] += count
        shown = answered >= settings.min_group
        themes.append({"id": q.id, "fr": q.fr, "en": q.en,
                       "favourable": round(bands[Band.SATISFIED] / answered, 4) if shown else None})
    figures = band_figures(pooled)
    return {"answers": n, "index": figures["satisfaction"], "themes": themes}


def _satisfaction(db: Database, team: Team, first: date, last: date, min_cell: int) -> float | None:
    by_zone: dict[str, list] = defaultdict(list)
    for site in team.sites(db):
        by_zone[site.tz].append(site)
    cells: list[tuple[int, int, int]] = []
    for sites in by_zone.values():
        cells += [(scale, rating, n_raw) for _, _, scale, rating, _, n_raw, _ in
                  cells_for(db, sites, first, last).sites() if n_raw]
    figures = band_figures(band_counts(cells))
    return figures["net_satisfaction"] if figures["total"] >= min_cell else None


def team_figures(db: Database, team: Team, unit: str, today: date, *, count: int = 8,
                 min_cell: int = 10) -> dict[str, Any]:
    """The team's latest `count` closed periods, oldest first, each withheld under the minimum."""
    settings = get_settings(db, team.org)
    keys = recent_periods(unit, today, count)
    if unit == "week":
        shown = visible_weeks(db, team, keys, settings.min_group)
    else:
        shown = {k for k in keys if sum(_responses(db, team, period_weeks("month", k)).values()) >= settings.min_group}
    periods = []
    for key in keys:
        first, last = period_days(unit, key)
        point: dict[str, Any] = {"period": key, "shown": key in shown,
                                 "net_satisfaction": _satisfaction(db, team, first, last, min_cell)}
        if key in shown:
            point.update(_barometer(db, team, period_weeks(unit, key), settings))
        periods.append(point)
    previous = None
    for point in periods:
        for name, value in (("index", point.get("index")), ("net_satisfaction", point["net_satisfaction"])):
            before = previous.get(name) if previous else None
            point[f"{name}_change"] = round(value - before, 4) if value is not None and before is not None else None
        previous = point
    return {"team": team.id, "unit": unit, "min_group": settings.min_group, "periods": periods,
            "reading": reading(periods)}


def _direction(change: float | None) -> int | None:
    if change is None:
        return None
    return 0 if abs(change) < STABLE_POINTS else (1 if change > 0 else -1)


def reading(periods: list[dict[str, Any]]) -> dict[str, str]:
    """How the two move together, in plain words (fr, en); never what causes what."""
    moves = [(_direction(p.get("index_change")), _direction(p.get("net_satisfaction_change"))) for p in periods]
    moves = [(a, b) for a, b in moves if a is not None and b is not None]
    if len(moves) < 2:
        return {"fr": "Pas encore assez de périodes affichables pour dire comment le baromètre de l'équipe et la"
                      " satisfaction des usagers évoluent ensemble.",
                "en": "Not yet enough periods that can be shown to say how the team's barometer and the users'"
                      " satisfaction move together."}
    same = sum(1 for a, b in moves if a == b and a != 0)
    opposite = sum(1 for a, b in moves if a * b == -1)
    stable = len(moves) - same - opposite
    words = {1: ("en hausse", "up"), 0: ("stable", "steady"), -1: ("en baisse", "down")}
    last_a, last_b = moves[-1]
    return {"fr": f"Sur les {len(moves)} dernières évolutions, le bien-être de l'équipe et la satisfaction des usagers"
                  f" ont évolué dans le même sens {same} fois, en sens contraire {opposite} fois ; {stable} fois"
                  f" l'un des deux (ou les deux) est resté stable. Dernière période : équipe {words[last_a][0]},"
                  f" usagers {words[last_b][0]}. Ce rapprochement ne dit pas ce qui cause quoi : parlez-en avec"
                  " l'équipe.",
            "en": f"Over the last {len(moves)} changes, the team's well-being and the users' satisfaction moved the"
                  f" same way {same} times, opposite ways {opposite} times; {stable} times one of them (or both)"
                  f" held steady. Last period: team {words[last_a][1]}, users {words[last_b][1]}. This does not say"
                  " what causes what: talk it over with the team."}
