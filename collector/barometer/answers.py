"""One agent's answer: the code is spent in one table, the ratings added to counters in another.

Nothing links the two. There is no answer row at all: each rating adds 1 to the counter of its
(team, week, question, rating), and the week's number of answers grows by 1. The counters exist
before the first answer (codes.ensure_counters), so neither a row id nor the order of the rows says
who answered what, or when. The code row keeps no time. Limits: docs/privacy.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from sqlite_utils import Database

from collector.barometer import BarometerError
from collector.barometer.codes import code_hash, ensure_counters, normalise
from collector.barometer.settings import Settings, get_settings
from collector.barometer.teams import Team, get_team
from collector.barometer.weeks import GRACE_DAYS, accepts_answers, week_monday
from collector.db import write_transaction


def enabled_team(db: Database, team_id: str) -> tuple[Team, Settings]:
    """The team and its organisation's settings; an unknown team, or one whose organisation has not
    turned the barometer on, is refused the same way."""
    team = get_team(db, team_id) if isinstance(team_id, str) else None
    settings = get_settings(db, team.org) if team is not None else None
    if team is None or settings is None or not settings.enabled:
        raise BarometerError(f"no team {str(team_id)[:40]!r} answers the barometer here",
                             f"aucune équipe {str(team_id)[:40]!r} ne répond au baromètre ici")
    return team, settings


def check_ratings(settings: Settings, ratings: Mapping[str, object]) -> dict[str, int]:
    """Question id -> rating, each known and on the scale; a question left out is skipped (at least one)."""
    out = {}
    for question_id, value in ratings.items():
        if settings.question(question_id) is None:
            name = str(question_id)[:40]
            raise BarometerError(f"unknown question {name!r}", f"question inconnue {name!r}")
        if value in (None, ""):
            continue
        text = str(value).strip()
        rating = int(text) if text.isdigit() and len(text) < 3 else 0
        if not 1 <= rating <= settings.scale:
            raise BarometerError(
                f"rating {text[:20]!r} for {question_id} is not on the scale 1 to {settings.scale}",
                f"la réponse {text[:20]!r} à {question_id} n'est pas sur l'échelle de 1 à {settings.scale}")
        out[question_id] = rating
    if not out:
        raise BarometerError("no question was answered", "aucune question n'a reçu de réponse")
    return out


def submit(db: Database, team_id: str, code: object, ratings: Mapping[str, object], today: date) -> str:
    """Count one answer of the team; returns the ISO week it counts in. BarometerError says why not."""
    team, settings = enabled_team(db, team_id)
    answer = check_ratings(settings, ratings)
    digest = code_hash(normalise(code))
    with write_transaction(db):
        row = db.conn.execute("SELECT week, used FROM barometer_codes WHERE hash = ? AND team = ?",
                              (digest, team.id)).fetchone()
        if row is None:
            raise BarometerError(
                "this code is not one of this team's codes: check it, or ask for a new slip",
                "ce code n'est pas un code de cette équipe : vérifiez-le, ou demandez un nouveau papier")
        week, used = row
        if used:
            raise BarometerError("this code has already been used: each code counts once",
                                 "ce code a déjà servi : chaque code ne compte qu'une fois")
        if not accepts_answers(week, today):
            early = today < week_monday(week)
            raise BarometerError(f"this code is for the week {week}, " + ("which has not started" if early else
                                 f"whose answers closed {GRACE_DAYS} days after it ended"),
                                 f"ce code est celui de la semaine {week}, " + ("qui n'a pas commencé" if early else
                                 f"dont les réponses sont closes depuis {GRACE_DAYS} jours après sa fin"))
        spent = db.conn.execute("UPDATE barometer_codes SET used = 1 WHERE hash = ? AND used = 0", (digest,))
        if spent.rowcount != 1:
            raise BarometerError("this code has already been used: each code counts once",
                                 "ce code a déjà servi : chaque code ne compte qu'une fois")
        ensure_counters(db, team, week)
        db.conn.executemany("UPDATE barometer_counts SET n = n + 1 WHERE team = ? AND week = ? AND question = ?"
                            " AND scale = ? AND rating = ?",
                            [(team.id, week, q, settings.scale, r) for q, r in sorted(answer.items())])
        db.conn.execute("UPDATE barometer_responses SET n = n + 1 WHERE team = ? AND week = ?", (team.id, week))
    return week
